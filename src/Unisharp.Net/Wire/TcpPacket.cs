using System.Buffers.Binary;
using Unisharp.Net.Tcp;

namespace Unisharp.Net.Wire;

/// <summary>A zero-copy view of a TCP segment (RFC 9293 §3.1).</summary>
/// <remarks>
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |          Source Port          |       Destination Port        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                        Sequence Number                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Acknowledgment Number                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Data |       |C|E|U|A|P|R|S|F|                               |
/// | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Checksum            |         Urgent Pointer        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Options (0-40 bytes)  ...                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// The checksum covers a pseudo-header (source, destination, protocol 6, TCP length), header and data.
/// </code>
/// </remarks>
internal readonly ref struct TcpPacket
{
    public const int MinHeaderLength = 20;
    public const int MaxHeaderLength = 60;
    /// <summary>The checksum field's offset in the header.</summary>
    public const int ChecksumOffset = 16;

    private static class Field
    {
        public const int SourcePort = 0;
        public const int DestinationPort = 2;
        public const int Sequence = 4;
        public const int Ack = 8;
        public const int DataOffset = 12;
        public const int Flags = 13;
        public const int Window = 14;
        public const int Checksum = 16;
        public const int Urgent = 18;
    }

    private readonly Span<byte> _buffer;

    /// <summary>An unchecked view, for emitting into a buffer of known size.</summary>
    public TcpPacket(Span<byte> buffer) => _buffer = buffer;

    /// <summary>Checks the header length against the buffer (the segment is the whole buffer).</summary>
    public static WireError TryCreate(Span<byte> buffer, out TcpPacket packet)
    {
        packet = default;
        if (buffer.Length < MinHeaderLength)
        {
            return WireError.Truncated;
        }
        int headerLength = (buffer[Field.DataOffset] >> 4) * 4;
        if (headerLength < MinHeaderLength)
        {
            return WireError.BadLength;
        }
        if (headerLength > buffer.Length)
        {
            return WireError.Truncated;
        }
        packet = new TcpPacket(buffer);
        return WireError.None;
    }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.SourcePort..]);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.DestinationPort..]);
    public SeqNum SequenceNumber => new(BinaryPrimitives.ReadUInt32BigEndian(_buffer[Field.Sequence..]));
    public SeqNum AckNumber => new(BinaryPrimitives.ReadUInt32BigEndian(_buffer[Field.Ack..]));
    public int HeaderLength => (_buffer[Field.DataOffset] >> 4) * 4;
    public TcpFlags Flags => (TcpFlags)_buffer[Field.Flags];
    public ushort WindowLength => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Window..]);
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Checksum..]);
    public ushort UrgentPointer => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Urgent..]);
    public Span<byte> Options => _buffer[MinHeaderLength..HeaderLength];
    public Span<byte> Payload => _buffer[HeaderLength..];
    public int Length => _buffer.Length;

    public bool VerifyChecksum(Ipv4Address source, Ipv4Address destination) =>
        InternetChecksum.Fold(InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Tcp, _buffer.Length)
            + InternetChecksum.Sum(_buffer)) == 0xFFFF;

    public void SetHeader(ushort sourcePort, ushort destinationPort, SeqNum sequence, SeqNum ack, int headerLength,
        TcpFlags flags, ushort window)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.SourcePort..], sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.DestinationPort..], destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[Field.Sequence..], sequence.Value);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[Field.Ack..], ack.Value);
        _buffer[Field.DataOffset] = (byte)(headerLength / 4 << 4);
        _buffer[Field.Flags] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Window..], window);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Urgent..], 0);
    }

    public void FillChecksum(Ipv4Address source, Ipv4Address destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Checksum..], 0);
        ushort checksum = InternetChecksum.Finish(
            InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Tcp, _buffer.Length) + InternetChecksum.Sum(_buffer));
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Checksum..], checksum);
    }

    /// <summary>
    /// Writes only the pseudo-header sum, uncomplemented, for a device that completes the checksum over the
    /// segment (checksum offload: virtio's NEEDS_CSUM, Linux's CHECKSUM_PARTIAL).
    /// </summary>
    public void FillPartialChecksum(Ipv4Address source, Ipv4Address destination) =>
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Checksum..],
            InternetChecksum.Fold(InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Tcp, _buffer.Length)));
}
