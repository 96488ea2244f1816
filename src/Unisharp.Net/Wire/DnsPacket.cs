using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>A zero-copy view of a DNS message's fixed header (RFC 1035 §4.1.1).</summary>
/// <remarks>
/// <code>
///  0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
/// +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
/// |                      ID                       |
/// |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |
/// |                    QDCOUNT                    |
/// |                    ANCOUNT                    |
/// |                    NSCOUNT                    |
/// |                    ARCOUNT                    |
/// +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
/// then the question, answer, authority and additional sections.
/// </code>
/// </remarks>
internal readonly ref struct DnsPacket
{
    public const int HeaderLength = 12;

    /// <summary>RFC 1035 §2.3.4: a message over UDP without EDNS is at most 512 bytes.</summary>
    public const int MaxUdpLength = 512;

    private static class Field
    {
        public const int Id = 0;
        public const int Flags = 2;
        public const int QuestionCount = 4;
        public const int AnswerCount = 6;
        public const int AuthorityCount = 8;
        public const int AdditionalCount = 10;
    }

    private static class Flag
    {
        public const ushort Response = 0x8000;
        public const int OpcodeShift = 11;
        public const ushort Authoritative = 0x0400;
        public const ushort Truncated = 0x0200;
        public const ushort RecursionDesired = 0x0100;
        public const ushort RecursionAvailable = 0x0080;
        public const ushort ResponseCodeMask = 0x000F;
    }

    private readonly Span<byte> _buffer;

    /// <summary>An unchecked view for emitting into a buffer of at least <see cref="HeaderLength"/> bytes.</summary>
    public DnsPacket(Span<byte> buffer) => _buffer = buffer;

    public static WireError TryCreate(Span<byte> buffer, out DnsPacket packet)
    {
        packet = default;
        if (buffer.Length < HeaderLength)
        {
            return WireError.Truncated;
        }
        packet = new DnsPacket(buffer);
        return WireError.None;
    }

    public ushort Id
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Id..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Id..], value);
    }

    public ushort Flags
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Flags..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Flags..], value);
    }

    public bool IsResponse => (Flags & Flag.Response) != 0;
    public byte Opcode => (byte)((Flags >> Flag.OpcodeShift) & 0xF);
    public bool Authoritative => (Flags & Flag.Authoritative) != 0;
    public bool Truncated => (Flags & Flag.Truncated) != 0;
    public bool RecursionDesired => (Flags & Flag.RecursionDesired) != 0;
    public bool RecursionAvailable => (Flags & Flag.RecursionAvailable) != 0;
    public DnsResponseCode ResponseCode => (DnsResponseCode)(Flags & Flag.ResponseCodeMask);

    public ushort QuestionCount
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.QuestionCount..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.QuestionCount..], value);
    }

    public ushort AnswerCount
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.AnswerCount..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.AnswerCount..], value);
    }

    public ushort AuthorityCount
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.AuthorityCount..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.AuthorityCount..], value);
    }

    public ushort AdditionalCount
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.AdditionalCount..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.AdditionalCount..], value);
    }

    /// <summary>Everything after the header: the sections, whose names may point anywhere in the whole message.</summary>
    public Span<byte> Body => _buffer[HeaderLength..];

    public static ushort MakeFlags(bool response, byte opcode, bool authoritative, bool truncated, bool recursionDesired,
        bool recursionAvailable, DnsResponseCode responseCode) =>
        (ushort)((response ? Flag.Response : 0) | ((opcode & 0xF) << Flag.OpcodeShift) | (authoritative ? Flag.Authoritative : 0)
            | (truncated ? Flag.Truncated : 0) | (recursionDesired ? Flag.RecursionDesired : 0)
            | (recursionAvailable ? Flag.RecursionAvailable : 0) | ((int)responseCode & Flag.ResponseCodeMask));
}
