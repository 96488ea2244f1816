using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Wire;

public class Icmpv4Tests
{
    private static byte[] Message(byte[] frame) => frame.AsSpan(34).ToArray();

    [Fact]
    public void View_CapturedEchoRequest_ReadsFields()
    {
        Assert.Equal(WireError.None, Icmpv4Packet.TryCreate(Message(Captures.EchoRequest), out var icmp));
        Assert.Equal(Icmpv4Type.EchoRequest, icmp.Type);
        Assert.Equal(0, icmp.Code);
        Assert.Equal(0xfdc6, icmp.Checksum);
        Assert.Equal(13681, icmp.Identifier);
        Assert.Equal(1, icmp.SequenceNumber);
        Assert.Equal("abcd"u8.ToArray(), icmp.Data[..4].ToArray());
    }

    [Fact]
    public void View_SetHeader_WritesCapturedReply()
    {
        byte[] message = Message(Captures.EchoReply);
        message.AsSpan(0, 8).Clear();
        var icmp = new Icmpv4Packet(message);
        icmp.SetHeader(Icmpv4Type.EchoReply, 0, 13681, 1);
        icmp.FillChecksum();

        Assert.Equal(Message(Captures.EchoReply), message);
    }

    [Fact]
    public void TryParse_CapturedPortUnreachable_QuotesTheDatagram()
    {
        Assert.Equal(WireError.None, Icmpv4Repr.TryParse(Message(Captures.PortUnreachable), out var icmp, out var data));
        Assert.Equal(new Icmpv4Repr(Icmpv4Type.DestinationUnreachable, Icmpv4Repr.CodePortUnreachable, 0, 0, 35), icmp);
        // The quote is the offending datagram whole (Linux quotes up to 576 bytes; RFC 792 needs only 28).
        Assert.Equal(Captures.UdpToClosedPort.AsSpan(14).ToArray(), data.ToArray());
    }

    [Fact]
    public void Emit_EchoReplyToCapturedRequest_MatchesCapturedReply()
    {
        Icmpv4Repr.TryParse(Message(Captures.EchoRequest), out var request, out var data);
        byte[] reply = new byte[request.BufferLength];
        (request with { Type = Icmpv4Type.EchoReply }).Emit(reply, data);

        Assert.Equal(Message(Captures.EchoReply), reply);
    }

    [Fact]
    public void TryParse_TooShort_Truncated()
    {
        Assert.Equal(WireError.Truncated, Icmpv4Repr.TryParse(Message(Captures.EchoRequest).AsSpan(0, 7).ToArray(), out _, out _));
    }

    [Fact]
    public void TryParse_CorruptedData_BadChecksum()
    {
        byte[] message = Message(Captures.EchoRequest);
        message[9] ^= 0x40;

        Assert.Equal(WireError.BadChecksum, Icmpv4Repr.TryParse(message, out _, out _));
    }
}
