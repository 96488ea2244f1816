using Unisharp.Net;
using Unisharp.Net.Wire;

namespace Unisharp.Fuzz;

/// <summary>
/// The IPv6 parsers on one packet (the input, from the IPv6 header on): the header, the extension-header chain, then an
/// ICMPv6 message and, for neighbour discovery, its body. What parses must emit back to the same value.
/// </summary>
internal static class Ipv6Target
{
    public static void Run(byte[] input)
    {
        if (Ipv6Repr.TryParse(input, out var ip, out var payload) != WireError.None)
        {
            return;
        }
        FuzzTargets.Check(payload.Length == ip.PayloadLength, "ipv6: payload span and length disagree");
        byte[] header = new byte[Ipv6Repr.HeaderLength + ip.PayloadLength];
        ip.Emit(header);
        FuzzTargets.Check(Ipv6Repr.TryParse(header, out var again, out _) == WireError.None && again == ip, "ipv6: emitted header does not parse back");

        var walked = Ipv6HeaderChain.TryWalk(payload, ip.NextHeader, out var chain, out _, out int pointer, out _);
        if (walked == Ipv6ChainError.ParameterProblem)
        {
            FuzzTargets.Check(pointer >= 0 && pointer < Ipv6Repr.HeaderLength + payload.Length, "ipv6: parameter problem points outside the packet");
        }
        if (walked != Ipv6ChainError.None)
        {
            return;
        }
        FuzzTargets.Check(chain.PayloadOffset >= 0 && chain.PayloadOffset <= payload.Length, "ipv6: chain's payload offset outside the packet");
        if (chain.IsFragment || chain.Protocol != IpProtocol.Icmpv6)
        {
            return;
        }
        Icmpv6(ip, payload[chain.PayloadOffset..]);
    }

    private static void Icmpv6(in Ipv6Repr ip, Span<byte> message)
    {
        if (Icmpv6Repr.TryParse(message, ip.Source, ip.Destination, out var icmp, out var data, verifyChecksum: false) != WireError.None)
        {
            return;
        }
        byte[] emitted = new byte[icmp.BufferLength];
        icmp.Emit(emitted, data, ip.Source, ip.Destination);
        FuzzTargets.Check(Icmpv6Repr.TryParse(emitted, ip.Source, ip.Destination, out var again, out var dataAgain) == WireError.None
            && again == icmp && dataAgain.SequenceEqual(data), "icmpv6: emitted message does not parse back");

        if (NdpRepr.TryParse(ip, icmp, data, out var ndp, out _) != WireError.None)
        {
            return;
        }
        byte[] nd = new byte[ndp.BufferLength];
        ndp.Emit(nd, ip.Source, ip.Destination);
        FuzzTargets.Check(Icmpv6Repr.TryParse(nd, ip.Source, ip.Destination, out var ndIcmp, out var ndData) == WireError.None,
            "ndp: emitted message is not ICMPv6");
        var ndIp = ip with { PayloadLength = nd.Length, NextHeader = IpProtocol.Icmpv6 };
        FuzzTargets.Check(NdpRepr.TryParse(ndIp, ndIcmp, ndData, out var ndAgain, out _) == WireError.None && ndAgain == ndp,
            "ndp: emitted message does not parse back");
    }
}
