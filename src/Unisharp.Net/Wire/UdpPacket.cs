using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>A zero-copy view of a UDP datagram (RFC 768).</summary>
/// <remarks>
/// <code>
///  0               2               4               6               8
/// +---------------+---------------+---------------+---------------+---------
/// |  source port  |   dest port   |    length     |   checksum    | data ...
/// +---------------+---------------+---------------+---------------+---------
/// The checksum covers a pseudo-header (source, destination, protocol 17, length), the header and data;
/// zero means the sender computed none.
/// </code>
/// </remarks>
internal readonly ref struct UdpPacket
{
    public const int HeaderLength = 8;

    private static class Field
    {
        public const int SourcePort = 0;
        public const int DestinationPort = 2;
        public const int Length = 4;
        public const int Checksum = 6;
    }

    private readonly Span<byte> _buffer;

    public UdpPacket(Span<byte> buffer) => _buffer = buffer;

    /// <summary>Checks the length field against the buffer and cuts the view to it.</summary>
    public static WireError TryCreate(Span<byte> buffer, out UdpPacket packet)
    {
        packet = default;
        if (buffer.Length < HeaderLength)
        {
            return WireError.Truncated;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(buffer[Field.Length..]);
        if (length < HeaderLength)
        {
            return WireError.BadLength;
        }
        if (length > buffer.Length)
        {
            return WireError.Truncated;
        }
        packet = new UdpPacket(buffer[..length]);
        return WireError.None;
    }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.SourcePort..]);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.DestinationPort..]);
    public int Length => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Length..]);
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Checksum..]);
    public Span<byte> Payload => _buffer[HeaderLength..Length];

    public bool VerifyChecksum(Ipv4Address source, Ipv4Address destination) =>
        Checksum == 0
        || InternetChecksum.Fold(InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Udp, Length)
            + InternetChecksum.Sum(_buffer[..Length])) == 0xFFFF;

    public void SetHeader(ushort sourcePort, ushort destinationPort, int length)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.SourcePort..], sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.DestinationPort..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Length..], (ushort)length);
    }

    public void FillChecksum(Ipv4Address source, Ipv4Address destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Checksum..], 0);
        ushort checksum = InternetChecksum.Finish(
            InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Udp, Length) + InternetChecksum.Sum(_buffer[..Length]));
        // RFC 768: a computed zero is sent as all ones, since zero means "no checksum".
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Checksum..], checksum == 0 ? (ushort)0xFFFF : checksum);
    }
}
