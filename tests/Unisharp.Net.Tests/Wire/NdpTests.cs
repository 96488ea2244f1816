using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Wire;

public class NdpTests
{
    private static readonly MacAddress s_macA = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress s_macB = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly Ipv6Address s_a = Ipv6Address.Parse("fe80::ff:fe00:a");
    private static readonly Ipv6Address s_b = Ipv6Address.Parse("fe80::ff:fe00:b");
    private static readonly Ipv6Address s_globalA = Ipv6Address.Parse("fd00:198:18::1");
    private static readonly Ipv6Address s_globalB = Ipv6Address.Parse("fd00:198:18::ff:fe00:b");

    private static WireError Parse(byte[] frame, out NdpRepr ndp, out Ipv6Repr ip)
    {
        ndp = default;
        byte[] packet = frame.AsSpan(14).ToArray();
        Assert.Equal(WireError.None, Ipv6Repr.TryParse(packet, out ip, out var payload));
        Assert.Equal(WireError.None, Icmpv6Repr.TryParse(payload, ip.Source, ip.Destination, out var icmp, out var data));
        return NdpRepr.TryParse(ip, icmp, data, out ndp, out _);
    }

    private static void AssertEmits(byte[] frame, NdpRepr ndp)
    {
        Assert.Equal(WireError.None, Ipv6Repr.TryParse(frame.AsSpan(14).ToArray(), out var ip, out _));
        byte[] message = new byte[ndp.BufferLength];
        ndp.Emit(message, ip.Source, ip.Destination);
        Assert.Equal(frame.AsSpan(54).ToArray(), message);
    }

    private static readonly NdpRepr s_ra = new(Icmpv6Type.RouterAdvertisement, SourceLinkLayer: s_macA, CurHopLimit: 64, RouterLifetime: 12,
        Mtu: 1500, Prefix: new NdpPrefixInformation(Ipv6Address.Parse("fd00:198:18::"), 64, true, true, 86400, 14400));

    [Fact]
    public void TryParse_CapturedRouterSolicitation_HasSourceLinkLayer()
    {
        Assert.Equal(WireError.None, Parse(Ipv6Captures.RouterSolicitation, out var ndp, out _));
        Assert.Equal(new NdpRepr(Icmpv6Type.RouterSolicitation, SourceLinkLayer: s_macB), ndp);
    }

    [Fact]
    public void Emit_RouterSolicitation_MatchesCapture() =>
        AssertEmits(Ipv6Captures.RouterSolicitation, new NdpRepr(Icmpv6Type.RouterSolicitation, SourceLinkLayer: s_macB));

    [Fact]
    public void TryParse_CapturedRouterAdvertisement_ReadsPrefixAndMtu()
    {
        Assert.Equal(WireError.None, Parse(Ipv6Captures.RouterAdvertisement, out var ndp, out _));
        Assert.Equal(s_ra, ndp);
    }

    [Fact]
    public void Emit_RouterAdvertisement_MatchesCaptureBytesUpToOptionOrder()
    {
        // radvd writes prefix, MTU, then source link-layer; we write link-layer first: compare the parse of ours.
        Assert.Equal(WireError.None, Ipv6Repr.TryParse(Ipv6Captures.RouterAdvertisement.AsSpan(14).ToArray(), out var ip, out _));
        byte[] message = new byte[s_ra.BufferLength];
        s_ra.Emit(message, ip.Source, ip.Destination);
        Assert.Equal(Ipv6Captures.RouterAdvertisement.Length - 54, message.Length);
        Assert.Equal(WireError.None, Icmpv6Repr.TryParse(message, ip.Source, ip.Destination, out var icmp, out var data));
        Assert.Equal(WireError.None, NdpRepr.TryParse(ip, icmp, data, out var parsed, out _));
        Assert.Equal(s_ra, parsed);
    }

    [Fact]
    public void TryParse_CapturedDadProbe_UnspecifiedSourceWithNonce()
    {
        Assert.Equal(WireError.None, Parse(Ipv6Captures.DadProbe, out var ndp, out var ip));
        Assert.True(ip.Source.IsUnspecified);
        Assert.Equal(new NdpRepr(Icmpv6Type.NeighborSolicitation, s_b, Nonce: 0x72c6882c98dcUL), ndp);
    }

    [Fact]
    public void Emit_DadProbe_MatchesCapture() =>
        AssertEmits(Ipv6Captures.DadProbe, new NdpRepr(Icmpv6Type.NeighborSolicitation, s_b, Nonce: 0x72c6882c98dcUL));

    [Fact]
    public void TryParse_CapturedNeighborSolicitation_ReadsTarget()
    {
        Assert.Equal(WireError.None, Parse(Ipv6Captures.NeighborSolicitation, out var ndp, out _));
        Assert.Equal(new NdpRepr(Icmpv6Type.NeighborSolicitation, s_globalB, SourceLinkLayer: s_macA), ndp);
    }

    [Fact]
    public void Emit_NeighborSolicitation_MatchesCapture() =>
        AssertEmits(Ipv6Captures.NeighborSolicitation, new NdpRepr(Icmpv6Type.NeighborSolicitation, s_globalB, SourceLinkLayer: s_macA));

    [Fact]
    public void TryParse_CapturedNeighborAdvertisement_SolicitedOverride()
    {
        Assert.Equal(WireError.None, Parse(Ipv6Captures.NeighborAdvertisement, out var ndp, out _));
        Assert.Equal(new NdpRepr(Icmpv6Type.NeighborAdvertisement, s_globalB, TargetLinkLayer: s_macB, Solicited: true, Override: true), ndp);
    }

    [Fact]
    public void Emit_NeighborAdvertisement_MatchesCapture() =>
        AssertEmits(Ipv6Captures.NeighborAdvertisement,
            new NdpRepr(Icmpv6Type.NeighborAdvertisement, s_globalB, TargetLinkLayer: s_macB, Solicited: true, Override: true));

    [Fact]
    public void TryParse_HopLimitBelow255_BadField()
    {
        byte[] frame = (byte[])Ipv6Captures.NeighborSolicitation.Clone();
        frame[21] = 64;
        Assert.Equal(WireError.BadField, Parse(frame, out _, out _));
    }

    [Fact]
    public void TryParse_ZeroLengthOption_BadLength()
    {
        byte[] packet = Ipv6Captures.NeighborSolicitation.AsSpan(14).ToArray();
        packet[40 + 24 + 1] = 0;
        Ipv6Repr.TryParse(packet, out var ip, out var payload);
        // Fix the checksum so only the option is wrong.
        new Icmpv6Packet(payload).FillChecksum(ip.Source, ip.Destination);
        Assert.Equal(WireError.None, Icmpv6Repr.TryParse(payload, ip.Source, ip.Destination, out var icmp, out var data));
        Assert.Equal(WireError.BadLength, NdpRepr.TryParse(ip, icmp, data, out _, out _));
    }

    [Fact]
    public void TryParse_RouterAdvertisementFromGlobalSource_BadField()
    {
        var ip = new Ipv6Repr(s_globalA, Ipv6Address.AllNodes, IpProtocol.Icmpv6, 0, 255);
        byte[] message = new byte[s_ra.BufferLength];
        s_ra.Emit(message, s_globalA, Ipv6Address.AllNodes);
        Icmpv6Repr.TryParse(message, s_globalA, Ipv6Address.AllNodes, out var icmp, out var data);
        Assert.Equal(WireError.BadField, NdpRepr.TryParse(ip, icmp, data, out _, out _));
    }

    [Fact]
    public void TryParse_SolicitedAdvertisementToMulticast_BadField()
    {
        var na = new NdpRepr(Icmpv6Type.NeighborAdvertisement, s_b, TargetLinkLayer: s_macB, Solicited: true);
        var ip = new Ipv6Repr(s_b, Ipv6Address.AllNodes, IpProtocol.Icmpv6, 0, 255);
        byte[] message = new byte[na.BufferLength];
        na.Emit(message, s_b, Ipv6Address.AllNodes);
        Icmpv6Repr.TryParse(message, s_b, Ipv6Address.AllNodes, out var icmp, out var data);
        Assert.Equal(WireError.BadField, NdpRepr.TryParse(ip, icmp, data, out _, out _));
    }
}
