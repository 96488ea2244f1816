using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Unisharp.Net.Wire;

/// <summary>Span checks the emitters share.</summary>
internal static class WireSpans
{
    /// <summary>True when both spans begin at the same byte: a payload already written in place.</summary>
    public static bool SameStart(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
        Unsafe.AreSame(ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b));
}
