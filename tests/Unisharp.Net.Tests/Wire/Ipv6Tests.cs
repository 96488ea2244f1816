using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Wire;

public class Ipv6Tests
{
    private static readonly Ipv6Address s_a = Ipv6Address.Parse("fe80::ff:fe00:a");
    private static readonly Ipv6Address s_b = Ipv6Address.Parse("fe80::ff:fe00:b");

    private static byte[] Packet(byte[] frame) => frame.AsSpan(14).ToArray();

    [Fact]
    public void View_CapturedEchoRequest_ReadsFields()
    {
        Assert.Equal(WireError.None, Ipv6Packet.TryCreate(Packet(Ipv6Captures.EchoRequestLinkLocal), out var ip));
        Assert.Equal(6, ip.Version);
        Assert.Equal(0, ip.TrafficClass);
        Assert.Equal(0x0cceau, ip.FlowLabel);
        Assert.Equal(16, ip.PayloadLength);
        Assert.Equal(IpProtocol.Icmpv6, ip.NextHeader);
        Assert.Equal(64, ip.HopLimit);
        Assert.Equal(s_a, ip.Source);
        Assert.Equal(s_b, ip.Destination);
    }

    [Fact]
    public void View_SetHeader_WritesCapturedHeader()
    {
        byte[] expected = Packet(Ipv6Captures.EchoReplyLinkLocal);
        byte[] packet = (byte[])expected.Clone();
        packet.AsSpan(0, 40).Clear();
        new Ipv6Packet(packet).SetHeader(16, IpProtocol.Icmpv6, 64, s_b, s_a, 0, 0xa8649);
        Assert.Equal(expected, packet);
    }

    [Fact]
    public void TryParse_CapturedPacketWithPadding_CutsToPayloadLength()
    {
        byte[] padded = [.. Packet(Ipv6Captures.EchoRequestLinkLocal), 0, 0, 0, 0];
        Assert.Equal(WireError.None, Ipv6Repr.TryParse(padded, out var ip, out var payload));
        Assert.Equal(new Ipv6Repr(s_a, s_b, IpProtocol.Icmpv6, 16, 64, 0, 0x0ccea), ip);
        Assert.Equal(16, payload.Length);
    }

    [Fact]
    public void Emit_ParsedHeader_MatchesCapture()
    {
        byte[] expected = Packet(Ipv6Captures.RouterAdvertisement);
        Ipv6Repr.TryParse((byte[])expected.Clone(), out var ip, out _);
        byte[] packet = (byte[])expected.Clone();
        packet.AsSpan(0, 40).Clear();
        ip.Emit(packet);
        Assert.Equal(expected, packet);
    }

    [Theory]
    [InlineData(39)]
    [InlineData(55)]
    public void TryParse_Short_Truncated(int length)
    {
        Assert.Equal(WireError.Truncated, Ipv6Repr.TryParse(Packet(Ipv6Captures.EchoRequestLinkLocal).AsSpan(0, length).ToArray(), out _, out _));
    }

    [Fact]
    public void TryParse_Version4_BadVersion()
    {
        byte[] packet = Packet(Ipv6Captures.EchoRequestLinkLocal);
        packet[0] = 0x40;
        Assert.Equal(WireError.BadVersion, Ipv6Repr.TryParse(packet, out _, out _));
    }

    [Fact]
    public void TryParse_MulticastSource_BadField()
    {
        byte[] packet = Packet(Ipv6Captures.EchoRequestLinkLocal);
        Ipv6Address.AllNodes.Write(packet.AsSpan(8));
        Assert.Equal(WireError.BadField, Ipv6Repr.TryParse(packet, out _, out _));
    }
}
