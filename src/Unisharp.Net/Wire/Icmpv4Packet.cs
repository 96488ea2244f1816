using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>A zero-copy view of an ICMPv4 message (RFC 792).</summary>
/// <remarks>
/// <code>
///  0       1       2               4                               8
/// +-------+-------+---------------+-------------------------------+---------
/// | type  | code  |   checksum    | rest of header (echo: id, seq; | data ...
/// |       |       |               | unreachable: unused, MTU)      |
/// +-------+-------+---------------+-------------------------------+---------
/// The checksum covers the whole message.
/// </code>
/// </remarks>
internal readonly ref struct Icmpv4Packet
{
    public const int HeaderLength = 8;

    private static class Field
    {
        public const int Type = 0;
        public const int Code = 1;
        public const int Checksum = 2;
        public const int Identifier = 4;
        public const int Sequence = 6;
    }

    private readonly Span<byte> _buffer;

    public Icmpv4Packet(Span<byte> buffer) => _buffer = buffer;

    public static WireError TryCreate(Span<byte> buffer, out Icmpv4Packet packet, bool verifyChecksum = true)
    {
        packet = default;
        if (buffer.Length < HeaderLength)
        {
            return WireError.Truncated;
        }
        if (verifyChecksum && !InternetChecksum.IsValid(buffer))
        {
            return WireError.BadChecksum;
        }
        packet = new Icmpv4Packet(buffer);
        return WireError.None;
    }

    public Icmpv4Type Type => (Icmpv4Type)_buffer[Field.Type];
    public byte Code => _buffer[Field.Code];
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Checksum..]);
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Identifier..]);
    public ushort SequenceNumber => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Sequence..]);
    public Span<byte> Data => _buffer[HeaderLength..];

    public void SetHeader(Icmpv4Type type, byte code, ushort identifier, ushort sequence)
    {
        _buffer[Field.Type] = (byte)type;
        _buffer[Field.Code] = code;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Identifier..], identifier);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Sequence..], sequence);
    }

    public void FillChecksum()
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Checksum..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Checksum..], InternetChecksum.Compute(_buffer));
    }
}
