using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Wire;

public class Ipv4Tests
{
    private static readonly Ipv4Address s_a = Ipv4Address.Parse("198.18.0.1");
    private static readonly Ipv4Address s_b = Ipv4Address.Parse("198.18.0.2");

    private static byte[] Packet(byte[] frame) => frame.AsSpan(14).ToArray();

    [Fact]
    public void View_CapturedEchoRequest_ReadsFields()
    {
        Assert.Equal(WireError.None, Ipv4Packet.TryCreate(Packet(Captures.EchoRequest), out var ip));
        Assert.Equal(4, ip.Version);
        Assert.Equal(20, ip.HeaderLength);
        Assert.Equal(36, ip.TotalLength);
        Assert.Equal(0xd6d6, ip.Identification);
        Assert.True(ip.DontFragment);
        Assert.False(ip.MoreFragments);
        Assert.Equal(0, ip.FragmentOffset);
        Assert.Equal(64, ip.TimeToLive);
        Assert.Equal(IpProtocol.Icmp, ip.Protocol);
        Assert.Equal(0xd7da, ip.Checksum);
        Assert.Equal(s_a, ip.Source);
        Assert.Equal(s_b, ip.Destination);
        Assert.Equal(16, ip.Payload.Length);
    }

    [Fact]
    public void View_SetHeader_WritesCapturedHeader()
    {
        byte[] packet = Packet(Captures.UdpHello);
        packet.AsSpan(0, 20).Clear();
        var ip = new Ipv4Packet(packet);
        ip.SetHeader(33, 0x38db, dontFragment: true, moreFragments: false, 0, 64, IpProtocol.Udp, s_a, s_b);
        ip.FillChecksum();

        Assert.Equal(Packet(Captures.UdpHello), packet);
    }

    [Fact]
    public void TryParse_CapturedFragments_GiveOffsetsAndFlags()
    {
        Assert.Equal(WireError.None, Ipv4Repr.TryParse(Packet(Captures.FragmentedEchoFirst), out var first, out var firstPayload));
        Assert.Equal(WireError.None, Ipv4Repr.TryParse(Packet(Captures.FragmentedEchoLast), out var last, out var lastPayload));

        Assert.Equal(new Ipv4Repr(s_a, s_b, IpProtocol.Icmp, 1480, 64, 0xd6dd, false, true, 0), first);
        Assert.Equal(new Ipv4Repr(s_a, s_b, IpProtocol.Icmp, 528, 64, 0xd6dd, false, false, 1480), last);
        Assert.Equal(1480, firstPayload.Length);
        Assert.Equal(528, lastPayload.Length);
        Assert.True(first.IsFragment);
        Assert.True(last.IsFragment);
    }

    [Fact]
    public void Emit_EchoReplyHeader_MatchesCapture()
    {
        byte[] packet = Packet(Captures.EchoReply);
        packet.AsSpan(0, 20).Clear();
        new Ipv4Repr(s_b, s_a, IpProtocol.Icmp, 16, 64, 0x6683).Emit(packet);

        Assert.Equal(Packet(Captures.EchoReply), packet);
    }

    [Fact]
    public void TryParse_EthernetPadding_CutToTotalLength()
    {
        // A 60-byte minimum Ethernet frame pads a short datagram; the view must end at the total length.
        byte[] packet = [.. Packet(Captures.UdpHello), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

        Assert.Equal(WireError.None, Ipv4Repr.TryParse(packet, out var ip, out var payload));
        Assert.Equal(13, ip.PayloadLength);
        Assert.Equal(13, payload.Length);
    }

    [Fact]
    public void TryParse_WithOptions_SkipsThem()
    {
        byte[] original = Packet(Captures.UdpHello);
        // IHL 6: one 4-byte option word (three NOPs and End of Options List) after the fixed header.
        byte[] packet = [0x46, .. original.AsSpan(1, 19), 0x01, 0x01, 0x01, 0x00, .. original.AsSpan(20)];
        packet[3] += 4;
        packet[10] = 0;
        packet[11] = 0;
        ushort checksum = InternetChecksum.Compute(packet.AsSpan(0, 24));
        packet[10] = (byte)(checksum >> 8);
        packet[11] = (byte)checksum;

        Assert.Equal(WireError.None, Ipv4Repr.TryParse(packet, out var ip, out var payload));
        Assert.Equal(13, ip.PayloadLength);
        Assert.Equal(original.AsSpan(20).ToArray(), payload.ToArray());
    }

    [Fact]
    public void TryParse_TooShort_Truncated()
    {
        Assert.Equal(WireError.Truncated, Ipv4Repr.TryParse(Packet(Captures.UdpHello).AsSpan(0, 19).ToArray(), out _, out _));
    }

    [Fact]
    public void TryParse_TotalLengthBeyondBuffer_Truncated()
    {
        Assert.Equal(WireError.Truncated, Ipv4Repr.TryParse(Packet(Captures.UdpHello).AsSpan(0, 32).ToArray(), out _, out _));
    }

    [Fact]
    public void TryParse_Version6_BadVersion()
    {
        byte[] packet = Packet(Captures.UdpHello);
        packet[0] = 0x65;

        Assert.Equal(WireError.BadVersion, Ipv4Repr.TryParse(packet, out _, out _));
    }

    [Theory]
    [InlineData(0, 0x44)] // IHL 4: shorter than the fixed header
    [InlineData(3, 0x10)] // total length 16: shorter than the header
    public void TryParse_InconsistentLengths_BadLength(int offset, byte value)
    {
        byte[] packet = Packet(Captures.UdpHello);
        packet[offset] = value;

        Assert.Equal(WireError.BadLength, Ipv4Repr.TryParse(packet, out _, out _));
    }

    [Fact]
    public void TryParse_CorruptedHeader_BadChecksum()
    {
        byte[] packet = Packet(Captures.UdpHello);
        packet[8] = 63;

        Assert.Equal(WireError.BadChecksum, Ipv4Repr.TryParse(packet, out _, out _));
    }

    [Fact]
    public void TryParse_ReservedFlag_BadField()
    {
        Assert.Equal(WireError.BadField, Ipv4Repr.TryParse(WithHeaderByte(Packet(Captures.UdpHello), 6, 0xC0), out _, out _));
    }

    [Fact]
    public void TryParse_MulticastSource_BadField()
    {
        Assert.Equal(WireError.BadField, Ipv4Repr.TryParse(WithHeaderByte(Packet(Captures.UdpHello), 12, 224), out _, out _));
    }

    [Fact]
    public void TryParse_MoreFragmentsWithOddLength_BadLength()
    {
        // MF set on a 13-byte payload: only the last fragment may be other than a multiple of 8.
        Assert.Equal(WireError.BadLength, Ipv4Repr.TryParse(WithHeaderByte(Packet(Captures.UdpHello), 6, 0x20), out _, out _));
    }

    [Fact]
    public void TryParse_FragmentPastMaximumLength_BadLength()
    {
        // Offset 8191 * 8 = 65528 plus 13 bytes is beyond 65535.
        byte[] packet = WithHeaderByte(Packet(Captures.UdpHello), 6, 0x1F);
        Assert.Equal(WireError.BadLength, Ipv4Repr.TryParse(WithHeaderByte(packet, 7, 0xFF), out _, out _));
    }

    /// <summary>Sets one header byte and fixes the checksum, so only the field under test is wrong.</summary>
    private static byte[] WithHeaderByte(byte[] packet, int offset, byte value)
    {
        packet[offset] = value;
        packet[10] = 0;
        packet[11] = 0;
        ushort checksum = InternetChecksum.Compute(packet.AsSpan(0, 20));
        packet[10] = (byte)(checksum >> 8);
        packet[11] = (byte)checksum;
        return packet;
    }
}
