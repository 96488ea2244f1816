using Unisharp.Net.Wire;
using static Unisharp.Fuzz.FuzzTargets;

namespace Unisharp.Fuzz;

/// <summary>
/// The DNS message parser (<see cref="DnsRepr"/>): what parses and has names we can write must emit into a buffer of
/// exactly its length and parse back to the same message. The resolver's target is <see cref="DnsResolverTarget"/>.
/// </summary>
internal static class DnsTargets
{
    public static void Message(byte[] input)
    {
        if (DnsRepr.TryParse(input, out var repr) != WireError.None)
        {
            return;
        }
        Check(repr is not null, "dns: parsed without a message");
        int length = repr!.BufferLength;
        if (length < 0)
        {
            // A name with bytes we do not send (escaped as \DDD) or a label of a kind we do not write: nothing to emit.
            return;
        }
        byte[] emitted = new byte[length];
        Check(repr.Emit(emitted) == length, "dns: emitted a length other than BufferLength");
        Check(DnsRepr.TryParse(emitted, out var again) == WireError.None && again is not null, "dns: emitted message does not parse back");
        Check(Same(repr, again!), "dns: emitted message parses back to another message");
    }

    private static bool Same(DnsRepr a, DnsRepr b) =>
        a.Id == b.Id && a.IsResponse == b.IsResponse && a.ResponseCode == b.ResponseCode && a.RecursionDesired == b.RecursionDesired
        && a.RecursionAvailable == b.RecursionAvailable && a.Authoritative == b.Authoritative && a.Truncated == b.Truncated
        && a.Opcode == b.Opcode && a.Questions.SequenceEqual(b.Questions)
        && Same(a.Answers, b.Answers) && Same(a.Authorities, b.Authorities) && Same(a.Additionals, b.Additionals);

    private static bool Same(IReadOnlyList<DnsRecord> a, IReadOnlyList<DnsRecord> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }
        for (int i = 0; i < a.Count; i++)
        {
            // Records are equal field by field, but their Data arrays only by reference: compare those by content.
            if (a[i] with { Data = null } != b[i] with { Data = null } || !(a[i].Data ?? []).AsSpan().SequenceEqual(b[i].Data ?? []))
            {
                return false;
            }
        }
        return true;
    }
}
