using Unisharp.Net.Tcp;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Tcp;

public class TcpWireTests
{
    private static readonly Ipv4Address s_a = Ipv4Address.Parse("198.18.0.1");
    private static readonly Ipv4Address s_b = Ipv4Address.Parse("198.18.0.2");

    private static readonly TcpRepr s_syn = new(5000, 7000, new SeqNum(982004085), default, TcpFlags.Syn, 64240,
        MaxSegmentSize: 1460, WindowScale: 10, SackPermitted: true, Timestamp: new TcpTimestamp(2221811664, 0));

    private static readonly TcpRepr s_hello = new(5000, 7000, new SeqNum(982004086), new SeqNum(2671423727), TcpFlags.Ack | TcpFlags.Psh, 63,
        PayloadLength: 5, Timestamp: new TcpTimestamp(2221811669, 3420253411));

    [Fact]
    public void View_CapturedSyn_ReadsFields()
    {
        byte[] segment = TcpCaptures.Segment(TcpCaptures.Syn);

        Assert.Equal(WireError.None, TcpPacket.TryCreate(segment, out var tcp));
        Assert.Equal(5000, tcp.SourcePort);
        Assert.Equal(7000, tcp.DestinationPort);
        Assert.Equal(982004085u, tcp.SequenceNumber.Value);
        Assert.Equal(0u, tcp.AckNumber.Value);
        Assert.Equal(40, tcp.HeaderLength);
        Assert.Equal(TcpFlags.Syn, tcp.Flags);
        Assert.Equal(64240, tcp.WindowLength);
        Assert.Equal(0x79c8, tcp.Checksum);
        Assert.Equal(20, tcp.Options.Length);
        Assert.True(tcp.VerifyChecksum(s_a, s_b));
        Assert.False(tcp.VerifyChecksum(s_b, s_b));
    }

    [Fact]
    public void View_SetHeaderAndChecksum_WritesCapturedReset()
    {
        byte[] expected = TcpCaptures.Segment(TcpCaptures.Reset);
        byte[] segment = new byte[20];
        var tcp = new TcpPacket(segment);
        tcp.SetHeader(7001, 5001, new SeqNum(0), new SeqNum(1478775445), 20, TcpFlags.Rst | TcpFlags.Ack, 0);
        tcp.FillChecksum(s_b, s_a);

        Assert.Equal(expected, segment);
    }

    [Fact]
    public void TryParse_CapturedSyn_GivesAllOptions()
    {
        Assert.Equal(WireError.None, TcpRepr.TryParse(TcpCaptures.Segment(TcpCaptures.Syn), s_a, s_b, out var repr, out var payload));

        Assert.Equal(s_syn, repr);
        Assert.True(payload.IsEmpty);
        Assert.Equal(1, repr.SegmentLength);
    }

    [Fact]
    public void TryParse_CapturedData_GivesTimestampsAndPayload()
    {
        Assert.Equal(WireError.None, TcpRepr.TryParse(TcpCaptures.Segment(TcpCaptures.Hello), s_a, s_b, out var repr, out var payload));

        Assert.Equal(s_hello, repr);
        Assert.Equal("hello"u8.ToArray(), payload.ToArray());
    }

    [Theory]
    [MemberData(nameof(CapturedFrames))]
    public void Emit_ParsedCapture_ReproducesBytes(string name, byte[] frame)
    {
        byte[] segment = TcpCaptures.Segment(frame);
        bool fromA = frame[29] == 1;
        var (source, destination) = fromA ? (s_a, s_b) : (s_b, s_a);
        Assert.Equal(WireError.None, TcpRepr.TryParse(segment, source, destination, out var repr, out var payload));

        byte[] emitted = new byte[repr.BufferLength];
        repr.Emit(emitted, payload, source, destination);

        Assert.True(segment.AsSpan().SequenceEqual(emitted), name);
    }

    public static TheoryData<string, byte[]> CapturedFrames() => new()
    {
        { "syn", TcpCaptures.Syn },
        { "syn-ack", TcpCaptures.SynAck },
        { "ack", TcpCaptures.Ack },
        { "hello", TcpCaptures.Hello },
        { "fin", TcpCaptures.FinAck },
        { "rst", TcpCaptures.Reset },
    };

    [Fact]
    public void Emit_Syn_MatchesCapture()
    {
        byte[] segment = new byte[s_syn.BufferLength];
        s_syn.Emit(segment, default, s_a, s_b);

        Assert.Equal(TcpCaptures.Segment(TcpCaptures.Syn), segment);
    }

    [Fact]
    public void Emit_SackBlocksWithTimestamps_RoundTrips()
    {
        var sack = default(TcpSackBlocks).Add(new SeqNum(100), new SeqNum(200)).Add(new SeqNum(uint.MaxValue - 5), new SeqNum(10)).Add(new SeqNum(7), new SeqNum(9));
        var repr = new TcpRepr(1, 2, new SeqNum(5), new SeqNum(6), TcpFlags.Ack, 1000, PayloadLength: 3,
            Timestamp: new TcpTimestamp(1, 2), SackBlocks: sack);
        byte[] segment = new byte[repr.BufferLength];

        repr.Emit(segment, "abc"u8, s_a, s_b);

        Assert.Equal(20 + 12 + 28, repr.HeaderLength);
        Assert.Equal(WireError.None, TcpRepr.TryParse(segment, s_a, s_b, out var parsed, out var payload));
        Assert.Equal(repr, parsed);
        Assert.Equal("abc"u8.ToArray(), payload.ToArray());
    }

    [Fact]
    public void TryParse_CorruptedByte_BadChecksum()
    {
        byte[] segment = TcpCaptures.Segment(TcpCaptures.Hello);
        segment[^1] ^= 0x20;

        Assert.Equal(WireError.BadChecksum, TcpRepr.TryParse(segment, s_a, s_b, out _, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(19)]
    public void TryParse_Truncated_Rejected(int length)
    {
        byte[] segment = TcpCaptures.Segment(TcpCaptures.Syn)[..length];

        Assert.Equal(WireError.Truncated, TcpRepr.TryParse(segment, s_a, s_b, out _, out _));
    }

    [Fact]
    public void TryParse_DataOffsetPastEnd_Truncated()
    {
        byte[] segment = TcpCaptures.Segment(TcpCaptures.Reset);
        segment[12] = 0xF0;

        Assert.Equal(WireError.Truncated, TcpRepr.TryParse(segment, s_b, s_a, out _, out _));
    }

    [Fact]
    public void TryParse_OptionLengthPastHeader_OptionsIgnored()
    {
        var repr = s_syn;
        byte[] segment = new byte[repr.BufferLength];
        repr.Emit(segment, default, s_a, s_b);
        // The MSS option claims 30 bytes; refill the checksum so only the option is wrong.
        segment[21] = 30;
        new TcpPacket(segment).FillChecksum(s_a, s_b);

        Assert.Equal(WireError.None, TcpRepr.TryParse(segment, s_a, s_b, out var parsed, out _));
        Assert.Null(parsed.MaxSegmentSize);
        Assert.True(parsed.Has(TcpFlags.Syn));
    }

    [Fact]
    public void TryParse_KnownOptionWithWrongLength_OnlyThatOptionIgnored()
    {
        var repr = s_syn with { WindowScale = 7, Timestamp = new TcpTimestamp(5, 0) };
        byte[] segment = new byte[repr.BufferLength];
        repr.Emit(segment, default, s_a, s_b);
        // MSS is the first option (kind 2, length 4): make it a 3-byte MSS, its last byte becoming a NOP.
        Assert.Equal(2, segment[20]);
        segment[21] = 3;
        segment[23] = 1;
        new TcpPacket(segment).FillChecksum(s_a, s_b);

        Assert.Equal(WireError.None, TcpRepr.TryParse(segment, s_a, s_b, out var parsed, out _));
        Assert.Null(parsed.MaxSegmentSize);
        Assert.Equal((byte)7, parsed.WindowScale);
        Assert.Equal(5u, parsed.Timestamp?.Value);
    }

    [Fact]
    public void TryParse_SynFin_BadField()
    {
        byte[] segment = TcpCaptures.Segment(TcpCaptures.Syn);
        segment[13] |= (byte)TcpFlags.Fin;
        new TcpPacket(segment).FillChecksum(s_a, s_b);

        Assert.Equal(WireError.BadField, TcpRepr.TryParse(segment, s_a, s_b, out _, out _));
    }

    [Fact]
    public void TryParse_WindowScaleOver14_Clamped()
    {
        var repr = s_syn with { WindowScale = 20 };
        byte[] segment = new byte[repr.BufferLength];
        repr.Emit(segment, default, s_a, s_b);

        Assert.Equal(WireError.None, TcpRepr.TryParse(segment, s_a, s_b, out var parsed, out _));
        Assert.Equal((byte)14, parsed.WindowScale);
    }

    [Fact]
    public void TryParse_RandomBytes_NeverThrows()
    {
        var random = new Random(7);
        byte[] buffer = new byte[80];
        for (int i = 0; i < 20000; i++)
        {
            int length = random.Next(buffer.Length);
            random.NextBytes(buffer);
            buffer[12] = (byte)(random.Next(16) << 4);
            var segment = buffer.AsSpan(0, length);
            if (length >= 20)
            {
                new TcpPacket(segment).FillChecksum(s_a, s_b);
            }
            _ = TcpRepr.TryParse(segment, s_a, s_b, out _, out _);
        }
    }

    [Theory]
    [InlineData(1u, 2u, true)]
    [InlineData(0xFFFFFFF0u, 5u, true)]
    [InlineData(5u, 0xFFFFFFF0u, false)]
    [InlineData(0u, 0x7FFFFFFFu, true)]
    public void SeqNum_Compare_IsModular(uint a, uint b, bool less)
    {
        Assert.Equal(less, new SeqNum(a) < new SeqNum(b));
        Assert.Equal(!less, new SeqNum(a) > new SeqNum(b));
        Assert.Equal(unchecked((int)(b - a)), new SeqNum(b) - new SeqNum(a));
        Assert.Equal(new SeqNum(b), new SeqNum(a) + (new SeqNum(b) - new SeqNum(a)));
    }

    [Fact]
    public void TryParse_MssSackPermittedAndFourSackBlocks_KeepsTheBlocksThatFitWhenEmitted()
    {
        // Found by fuzz/run tcp: 40 bytes of options (MSS, SACK-permitted, four SACK blocks) parsed to a
        // repr whose options take 44 bytes as we emit them, past the 60-byte header limit, so it could not be emitted.
        byte[] options = [2, 4, 0x05, 0xB4, 4, 2, 5, 34, .. new byte[32]];
        for (int b = 0; b < 4; b++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(options.AsSpan(8 + 8 * b), (uint)(100 + 200 * b));
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(options.AsSpan(12 + 8 * b), (uint)(200 + 200 * b));
        }
        byte[] segment = new byte[20 + options.Length];
        new TcpPacket(segment).SetHeader(1, 2, new SeqNum(5), new SeqNum(6), 20 + options.Length, TcpFlags.Ack, 1000);
        options.CopyTo(segment, 20);

        Assert.Equal(WireError.None, TcpRepr.TryParse(segment, s_a, s_b, out var repr, out _, verifyChecksum: false));

        Assert.Equal(3, repr.SackBlocks.Count);
        Assert.True(repr.HeaderLength <= TcpPacket.MaxHeaderLength, $"{repr.HeaderLength}-byte header");
        byte[] emitted = new byte[repr.BufferLength];
        repr.Emit(emitted, default, s_a, s_b);
        Assert.Equal(WireError.None, TcpRepr.TryParse(emitted, s_a, s_b, out var again, out _));
        Assert.Equal(repr, again);
    }
}
