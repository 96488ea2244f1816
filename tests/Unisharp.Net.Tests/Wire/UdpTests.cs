using System.Buffers.Binary;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Wire;

public class UdpTests
{
    private static readonly Ipv4Address s_a = Ipv4Address.Parse("198.18.0.1");
    private static readonly Ipv4Address s_b = Ipv4Address.Parse("198.18.0.2");

    private static byte[] Datagram(byte[] frame) => frame.AsSpan(34).ToArray();

    [Fact]
    public void View_CapturedHello_ReadsFields()
    {
        Assert.Equal(WireError.None, UdpPacket.TryCreate(Datagram(Captures.UdpHello), out var udp));
        Assert.Equal(5000, udp.SourcePort);
        Assert.Equal(7000, udp.DestinationPort);
        Assert.Equal(13, udp.Length);
        Assert.Equal(0x00fa, udp.Checksum);
        Assert.Equal("hello"u8.ToArray(), udp.Payload.ToArray());
        Assert.True(udp.VerifyChecksum(s_a, s_b));
    }

    [Fact]
    public void View_SetHeaderAndChecksum_WritesCapturedReply()
    {
        byte[] datagram = Datagram(Captures.UdpHelloReply);
        datagram.AsSpan(0, 8).Clear();
        var udp = new UdpPacket(datagram);
        udp.SetHeader(7000, 5000, 13);
        udp.FillChecksum(s_b, s_a);

        Assert.Equal(Datagram(Captures.UdpHelloReply), datagram);
    }

    [Fact]
    public void TryParse_CapturedHello_GivesReprAndPayload()
    {
        Assert.Equal(WireError.None, UdpRepr.TryParse(Datagram(Captures.UdpHello), s_a, s_b, out var udp, out var payload));
        Assert.Equal(new UdpRepr(5000, 7000, 5), udp);
        Assert.Equal("hello"u8.ToArray(), payload.ToArray());
    }

    [Fact]
    public void Emit_Reply_MatchesCapture()
    {
        byte[] datagram = new byte[13];
        new UdpRepr(7000, 5000, 5).Emit(datagram, "HELLO"u8, s_b, s_a);

        Assert.Equal(Datagram(Captures.UdpHelloReply), datagram);
    }

    [Fact]
    public void Emit_PayloadAlreadyInPlace_LeavesItAndChecksums()
    {
        byte[] datagram = new byte[13];
        "HELLO"u8.CopyTo(datagram.AsSpan(8));
        new UdpRepr(7000, 5000, 5).Emit(datagram, datagram.AsSpan(8), s_b, s_a);

        Assert.Equal(Datagram(Captures.UdpHelloReply), datagram);
    }

    [Fact]
    public void Emit_ChecksumComputesToZero_SendsAllOnes()
    {
        // Search for a two-byte payload whose checksum comes out as zero: RFC 768 sends that as 0xFFFF.
        byte[] datagram = new byte[10];
        for (int v = 0; v <= 0xFFFF; v++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(8), (ushort)v);
            new UdpRepr(1, 2, 2).Emit(datagram, datagram.AsSpan(8), s_a, s_b);
            if (BinaryPrimitives.ReadUInt16BigEndian(datagram.AsSpan(6)) == 0xFFFF)
            {
                Assert.Equal(WireError.None, UdpRepr.TryParse(datagram, s_a, s_b, out _, out _));
                return;
            }
        }
        Assert.Fail("no payload gave a zero checksum");
    }

    [Fact]
    public void TryParse_ZeroChecksum_AcceptedAsNone()
    {
        byte[] datagram = Datagram(Captures.UdpHello);
        datagram[6] = 0;
        datagram[7] = 0;

        Assert.Equal(WireError.None, UdpRepr.TryParse(datagram, s_a, s_b, out _, out _));
    }

    [Fact]
    public void TryParse_WrongPseudoHeader_BadChecksum()
    {
        Assert.Equal(WireError.BadChecksum, UdpRepr.TryParse(Datagram(Captures.UdpHello), s_b, s_a.WithLastOctet(9), out _, out _));
    }

    [Fact]
    public void TryParse_CorruptedPayload_BadChecksum()
    {
        byte[] datagram = Datagram(Captures.UdpHello);
        datagram[10] ^= 1;

        Assert.Equal(WireError.BadChecksum, UdpRepr.TryParse(datagram, s_a, s_b, out _, out _));
    }

    [Fact]
    public void TryParse_LengthBelowHeader_BadLength()
    {
        byte[] datagram = Datagram(Captures.UdpHello);
        datagram[5] = 7;

        Assert.Equal(WireError.BadLength, UdpRepr.TryParse(datagram, s_a, s_b, out _, out _));
    }

    [Fact]
    public void TryParse_LengthBeyondBuffer_Truncated()
    {
        Assert.Equal(WireError.Truncated, UdpRepr.TryParse(Datagram(Captures.UdpHello).AsSpan(0, 12).ToArray(), s_a, s_b, out _, out _));
        Assert.Equal(WireError.Truncated, UdpRepr.TryParse(new byte[7], s_a, s_b, out _, out _));
    }

    [Fact]
    public void TryParse_DestinationPortZero_BadField()
    {
        byte[] datagram = new byte[8];
        new UdpRepr(5000, 0, 0).Emit(datagram, default, s_a, s_b);

        Assert.Equal(WireError.BadField, UdpRepr.TryParse(datagram, s_a, s_b, out _, out _));
    }
}

internal static class AddressTestExtensions
{
    public static Ipv4Address WithLastOctet(this Ipv4Address address, byte last) => new((address.Value & 0xFFFFFF00) | last);
}
