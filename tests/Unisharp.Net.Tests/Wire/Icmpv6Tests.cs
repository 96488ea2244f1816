using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Wire;

public class Icmpv6Tests
{
    private static readonly Ipv6Address s_a = Ipv6Address.Parse("fe80::ff:fe00:a");
    private static readonly Ipv6Address s_b = Ipv6Address.Parse("fe80::ff:fe00:b");
    private static readonly Ipv6Address s_globalA = Ipv6Address.Parse("fd00:198:18::1");
    private static readonly Ipv6Address s_globalB = Ipv6Address.Parse("fd00:198:18::ff:fe00:b");

    private static byte[] Message(byte[] frame, int extension = 0) => frame.AsSpan(54 + extension).ToArray();

    [Fact]
    public void View_CapturedEchoRequest_ReadsFields()
    {
        Assert.Equal(WireError.None, Icmpv6Packet.TryCreate(Message(Ipv6Captures.EchoRequestLinkLocal), s_a, s_b, out var icmp));
        Assert.Equal(Icmpv6Type.EchoRequest, icmp.Type);
        Assert.Equal(0, icmp.Code);
        Assert.Equal(0xb6ba, icmp.Checksum);
        Assert.Equal(0x091c0001u, icmp.Parameter);
        Assert.Equal("abcd"u8.ToArray(), icmp.Data[..4].ToArray());
    }

    [Fact]
    public void View_SetHeader_WritesCapturedReply()
    {
        byte[] message = Message(Ipv6Captures.EchoReplyLinkLocal);
        message.AsSpan(0, 8).Clear();
        var icmp = new Icmpv6Packet(message);
        icmp.SetHeader(Icmpv6Type.EchoReply, 0, 0x091c0001);
        icmp.FillChecksum(s_b, s_a);
        Assert.Equal(Message(Ipv6Captures.EchoReplyLinkLocal), message);
    }

    [Fact]
    public void Emit_EchoReplyToCapturedRequest_MatchesCapturedReply()
    {
        Assert.Equal(WireError.None, Icmpv6Repr.TryParse(Message(Ipv6Captures.EchoRequestLinkLocal), s_a, s_b, out var request, out var data));
        Assert.Equal(Icmpv6Repr.Echo(Icmpv6Type.EchoRequest, 2332, 1, 8), request);
        byte[] reply = new byte[request.BufferLength];
        (request with { Type = Icmpv6Type.EchoReply }).Emit(reply, data, s_b, s_a);
        Assert.Equal(Message(Ipv6Captures.EchoReplyLinkLocal), reply);
    }

    [Fact]
    public void TryParse_CapturedPortUnreachable_QuotesThePacket()
    {
        Assert.Equal(WireError.None, Icmpv6Repr.TryParse(Message(Ipv6Captures.PortUnreachable), s_globalB, s_globalA, out var icmp, out var data));
        Assert.Equal(new Icmpv6Repr(Icmpv6Type.DestinationUnreachable, Icmpv6Repr.CodePortUnreachable, 0, 55), icmp);
        Assert.Equal(Ipv6Captures.UdpToClosedPort.AsSpan(14).ToArray(), data.ToArray());
    }

    [Fact]
    public void Emit_PortUnreachable_MatchesCapture()
    {
        byte[] quote = Ipv6Captures.UdpToClosedPort.AsSpan(14).ToArray();
        var icmp = new Icmpv6Repr(Icmpv6Type.DestinationUnreachable, Icmpv6Repr.CodePortUnreachable, 0, quote.Length);
        byte[] message = new byte[icmp.BufferLength];
        icmp.Emit(message, quote, s_globalB, s_globalA);
        Assert.Equal(Message(Ipv6Captures.PortUnreachable), message);
    }

    [Theory]
    [InlineData(2, 0, 1280u)]
    [InlineData(3, 1, 0u)]
    [InlineData(4, 2, 42u)]
    public void EmitThenParse_Errors_RoundTrip(byte typeNumber, byte code, uint parameter)
    {
        var type = (Icmpv6Type)typeNumber;
        byte[] quote = Ipv6Captures.UdpToClosedPort.AsSpan(14).ToArray();
        var icmp = new Icmpv6Repr(type, code, parameter, quote.Length);
        byte[] message = new byte[icmp.BufferLength];
        icmp.Emit(message, quote, s_globalB, s_globalA);
        Assert.Equal(WireError.None, Icmpv6Repr.TryParse(message, s_globalB, s_globalA, out var parsed, out var data));
        Assert.Equal(icmp, parsed);
        Assert.True(parsed.IsError);
        Assert.Equal(quote, data.ToArray());
    }

    [Fact]
    public void TryParse_WrongPseudoHeader_BadChecksum()
    {
        Assert.Equal(WireError.BadChecksum, Icmpv6Repr.TryParse(Message(Ipv6Captures.EchoRequestLinkLocal), s_a, s_globalB, out _, out _));
    }

    [Fact]
    public void TryParse_TooShort_Truncated()
    {
        Assert.Equal(WireError.Truncated, Icmpv6Repr.TryParse(Message(Ipv6Captures.EchoRequestLinkLocal).AsSpan(0, 7).ToArray(), s_a, s_b, out _, out _));
    }

    [Fact]
    public void Emit_MldReport_MatchesCapture()
    {
        byte[] message = new byte[Mldv2Report.BufferLength(1)];
        Mldv2Report.Emit(message, [s_b.SolicitedNode], Mldv2Report.ChangeToExclude, Ipv6Address.Any, Ipv6Address.AllMldv2Routers);
        Assert.Equal(Message(Ipv6Captures.MldReport, 8), message);
    }
}
