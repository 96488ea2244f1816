using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>A zero-copy view of an ICMPv6 message (RFC 4443 §2.1).</summary>
/// <remarks>
/// <code>
///  0       1       2               4                               8
/// +-------+-------+---------------+-------------------------------+---------
/// | type  | code  |   checksum    | parameter (echo: id, seq;     | data ...
/// |       |       |               | too big: MTU; problem: pointer)|
/// +-------+-------+---------------+-------------------------------+---------
/// The checksum covers the IPv6 pseudo-header (RFC 8200 §8.1, next header 58) and the whole message.
/// </code>
/// </remarks>
internal readonly ref struct Icmpv6Packet
{
    public const int HeaderLength = 8;

    private static class Field
    {
        public const int Type = 0;
        public const int Code = 1;
        public const int Checksum = 2;
        public const int Parameter = 4;
    }

    private readonly Span<byte> _buffer;

    public Icmpv6Packet(Span<byte> buffer) => _buffer = buffer;

    public static WireError TryCreate(Span<byte> buffer, Ipv6Address source, Ipv6Address destination, out Icmpv6Packet packet,
        bool verifyChecksum = true)
    {
        packet = default;
        if (buffer.Length < HeaderLength)
        {
            return WireError.Truncated;
        }
        if (verifyChecksum && !IsChecksumValid(buffer, source, destination))
        {
            return WireError.BadChecksum;
        }
        packet = new Icmpv6Packet(buffer);
        return WireError.None;
    }

    private static bool IsChecksumValid(ReadOnlySpan<byte> buffer, Ipv6Address source, Ipv6Address destination) =>
        InternetChecksum.Fold(InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Icmpv6, buffer.Length)
            + InternetChecksum.Sum(buffer)) == 0xFFFF;

    public Icmpv6Type Type => (Icmpv6Type)_buffer[Field.Type];
    public byte Code => _buffer[Field.Code];
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Checksum..]);
    public uint Parameter => BinaryPrimitives.ReadUInt32BigEndian(_buffer[Field.Parameter..]);
    public Span<byte> Data => _buffer[HeaderLength..];

    public void SetHeader(Icmpv6Type type, byte code, uint parameter)
    {
        _buffer[Field.Type] = (byte)type;
        _buffer[Field.Code] = code;
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[Field.Parameter..], parameter);
    }

    public void FillChecksum(Ipv6Address source, Ipv6Address destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Checksum..], 0);
        ulong sum = InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Icmpv6, _buffer.Length) + InternetChecksum.Sum(_buffer);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Checksum..], InternetChecksum.Finish(sum));
    }
}
