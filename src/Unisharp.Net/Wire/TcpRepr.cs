using System.Buffers.Binary;
using Unisharp.Net.Tcp;

namespace Unisharp.Net.Wire;

/// <summary>
/// A TCP header with the options the stack uses: MSS (RFC 9293 §3.7.1), window scale and timestamps
/// (RFC 7323), SACK-permitted and SACK blocks (RFC 2018). Unknown options are skipped on parse; the urgent
/// pointer is ignored (RFC 9293 §3.8.5 leaves urgent data to applications that ask for it; none can).
/// </summary>
internal readonly record struct TcpRepr(
    ushort SourcePort,
    ushort DestinationPort,
    SeqNum SequenceNumber,
    SeqNum AckNumber,
    TcpFlags Flags,
    ushort WindowLength,
    int PayloadLength = 0,
    ushort? MaxSegmentSize = null,
    byte? WindowScale = null,
    bool SackPermitted = false,
    TcpTimestamp? Timestamp = null,
    TcpSackBlocks SackBlocks = default)
{
    /// <summary>RFC 7323 §2.3: a shift over 14 is treated as 14.</summary>
    public const int MaxWindowScale = 14;

    public bool Has(TcpFlags flag) => (Flags & flag) != 0;

    /// <summary>The sequence space the segment occupies: data plus one each for SYN and FIN (RFC 9293 §3.4).</summary>
    public int SegmentLength => PayloadLength + (Has(TcpFlags.Syn) ? 1 : 0) + (Has(TcpFlags.Fin) ? 1 : 0);

    public int OptionsLength
    {
        get
        {
            int n = MaxSegmentSize.HasValue ? 4 : 0;
            // SACK-permitted and timestamps share one 12-byte word group when both are present, as Linux sends them.
            n += SackPermitted && Timestamp.HasValue ? 12 : (SackPermitted ? 4 : 0) + (Timestamp.HasValue ? 12 : 0);
            n += WindowScale.HasValue ? 4 : 0;
            n += SackBlocks.Count > 0 ? 4 + 8 * SackBlocks.Count : 0;
            return n;
        }
    }

    public int HeaderLength => TcpPacket.MinHeaderLength + OptionsLength;

    public int BufferLength => HeaderLength + PayloadLength;

    /// <summary>
    /// Parses a segment and verifies its checksum (unless a device already did, <paramref name="verifyChecksum"/> false)
    /// against the enclosing IPv4 datagram's pseudo-header.
    /// </summary>
    public static WireError TryParse(Span<byte> buffer, Ipv4Address source, Ipv4Address destination, out TcpRepr repr, out Span<byte> payload,
        bool verifyChecksum = true)
    {
        repr = default;
        payload = default;
        var error = TcpPacket.TryCreate(buffer, out var packet);
        if (error != WireError.None)
        {
            return error;
        }
        if (verifyChecksum && !packet.VerifyChecksum(source, destination))
        {
            return WireError.BadChecksum;
        }
        // RFC 9293 §3.1: port zero is reserved; neither end may use it.
        if (packet.SourcePort == 0 || packet.DestinationPort == 0)
        {
            return WireError.BadField;
        }
        var flags = packet.Flags;
        // A segment with both SYN and RST, or SYN and FIN, means nothing in RFC 9293; scanners send them.
        if ((flags & TcpFlags.Syn) != 0 && (flags & (TcpFlags.Rst | TcpFlags.Fin)) != 0)
        {
            return WireError.BadField;
        }
        ushort? mss = null;
        byte? scale = null;
        bool sackPermitted = false;
        TcpTimestamp? timestamp = null;
        TcpSackBlocks sack = default;
        ReadOnlySpan<byte> options = packet.Options;
        int i = 0;
        while (i < options.Length)
        {
            var kind = (TcpOptionKind)options[i];
            if (kind == TcpOptionKind.EndOfList)
            {
                break;
            }
            if (kind == TcpOptionKind.NoOperation)
            {
                i++;
                continue;
            }
            // A length that cannot be right ends the options: what came before stands, the rest is ignored (as Linux
            // does; RFC 9293 §3.1 asks a receiver to cope with any option length).
            if (i + 1 >= options.Length)
            {
                break;
            }
            int length = options[i + 1];
            if (length < 2 || i + length > options.Length)
            {
                break;
            }
            var value = options.Slice(i + 2, length - 2);
            switch (kind)
            {
                case TcpOptionKind.MaxSegmentSize when length == 4:
                    mss = BinaryPrimitives.ReadUInt16BigEndian(value);
                    break;
                case TcpOptionKind.WindowScale when length == 3:
                    scale = Math.Min(value[0], (byte)MaxWindowScale);
                    break;
                case TcpOptionKind.SackPermitted when length == 2:
                    sackPermitted = true;
                    break;
                case TcpOptionKind.Timestamp when length == 10:
                    timestamp = new TcpTimestamp(BinaryPrimitives.ReadUInt32BigEndian(value), BinaryPrimitives.ReadUInt32BigEndian(value[4..]));
                    break;
                case TcpOptionKind.Sack when (length - 2) % 8 == 0 && length > 2:
                    for (int b = 0; b + 8 <= value.Length; b += 8)
                    {
                        sack = sack.Add(new SeqNum(BinaryPrimitives.ReadUInt32BigEndian(value[b..])),
                            new SeqNum(BinaryPrimitives.ReadUInt32BigEndian(value[(b + 4)..])));
                    }
                    break;
                default:
                    // RFC 9293 §3.1: an option we do not implement, or a known one with the wrong length (ignored, as
                    // Linux does), is skipped by its length.
                    break;
            }
            i += length;
        }
        payload = packet.Payload;
        repr = new TcpRepr(packet.SourcePort, packet.DestinationPort, packet.SequenceNumber, packet.AckNumber,
            flags, packet.WindowLength, payload.Length, mss, scale, sackPermitted, timestamp);
        // The blocks the options could carry as we emit them (padded, beside the other options): a sender short of
        // room drops the last ones too (RFC 2018 §4), and the repr stays one that emits.
        int room = TcpPacket.MaxHeaderLength - repr.HeaderLength - 4;
        if (sack.Count > 0 && room >= 8)
        {
            repr = repr with { SackBlocks = sack.Take(room / 8) };
        }
        return WireError.None;
    }

    /// <summary>
    /// Writes the header and options, copies <paramref name="payload"/> unless it is already in place after the
    /// header, and fills the checksum (only its pseudo-header part when <paramref name="partialChecksum"/>, for a
    /// device that completes it). <paramref name="buffer"/> must hold <see cref="BufferLength"/> bytes.
    /// </summary>
    public void Emit(Span<byte> buffer, ReadOnlySpan<byte> payload, Ipv4Address source, Ipv4Address destination, bool partialChecksum = false)
    {
        int headerLength = HeaderLength;
        var segment = buffer[..(headerLength + PayloadLength)];
        var target = segment.Slice(headerLength, PayloadLength);
        if (PayloadLength > 0 && !WireSpans.SameStart(payload, target))
        {
            payload[..PayloadLength].CopyTo(target);
        }
        var packet = new TcpPacket(segment);
        packet.SetHeader(SourcePort, DestinationPort, SequenceNumber, AckNumber, headerLength, Flags, WindowLength);
        var options = segment[TcpPacket.MinHeaderLength..headerLength];
        int i = 0;
        if (MaxSegmentSize is { } mss)
        {
            options[i++] = (byte)TcpOptionKind.MaxSegmentSize;
            options[i++] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(options[i..], mss);
            i += 2;
        }
        if (SackPermitted)
        {
            if (!Timestamp.HasValue)
            {
                options[i++] = (byte)TcpOptionKind.NoOperation;
                options[i++] = (byte)TcpOptionKind.NoOperation;
            }
            options[i++] = (byte)TcpOptionKind.SackPermitted;
            options[i++] = 2;
        }
        if (Timestamp is { } ts)
        {
            if (!SackPermitted)
            {
                options[i++] = (byte)TcpOptionKind.NoOperation;
                options[i++] = (byte)TcpOptionKind.NoOperation;
            }
            options[i++] = (byte)TcpOptionKind.Timestamp;
            options[i++] = 10;
            BinaryPrimitives.WriteUInt32BigEndian(options[i..], ts.Value);
            BinaryPrimitives.WriteUInt32BigEndian(options[(i + 4)..], ts.Echo);
            i += 8;
        }
        if (WindowScale is { } scale)
        {
            options[i++] = (byte)TcpOptionKind.NoOperation;
            options[i++] = (byte)TcpOptionKind.WindowScale;
            options[i++] = 3;
            options[i++] = scale;
        }
        if (SackBlocks.Count > 0)
        {
            options[i++] = (byte)TcpOptionKind.NoOperation;
            options[i++] = (byte)TcpOptionKind.NoOperation;
            options[i++] = (byte)TcpOptionKind.Sack;
            options[i++] = (byte)(2 + 8 * SackBlocks.Count);
            for (int b = 0; b < SackBlocks.Count; b++)
            {
                var (left, right) = SackBlocks[b];
                BinaryPrimitives.WriteUInt32BigEndian(options[i..], left.Value);
                BinaryPrimitives.WriteUInt32BigEndian(options[(i + 4)..], right.Value);
                i += 8;
            }
        }
        if (partialChecksum)
        {
            packet.FillPartialChecksum(source, destination);
        }
        else
        {
            packet.FillChecksum(source, destination);
        }
    }
}
