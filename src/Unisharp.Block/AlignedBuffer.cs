using System.Buffers;
using System.Runtime.InteropServices;

namespace Unisharp.Block;

/// <summary>
/// Native memory at a chosen alignment, as a <see cref="Memory{T}"/>: the bounce buffer for devices that
/// need aligned buffers (<c>O_DIRECT</c>). Pinning it is free: the GC never moves native memory.
/// </summary>
internal sealed unsafe class AlignedBuffer : MemoryManager<byte>
{
    private byte* _pointer;
    private readonly int _length;

    public AlignedBuffer(int length, int alignment)
    {
        _length = length;
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, (nuint)Math.Max(alignment, sizeof(nint)));
    }

    public override Span<byte> GetSpan() => new(_pointer, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (_pointer is not null)
        {
            NativeMemory.AlignedFree(_pointer);
            _pointer = null;
        }
    }

    /// <summary>Frees the memory; no request may still be using it.</summary>
    public void Free() => ((IDisposable)this).Dispose();
}
