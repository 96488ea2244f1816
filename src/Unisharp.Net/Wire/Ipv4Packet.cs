using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>A zero-copy view of an IPv4 header and its payload (RFC 791 §3.1).</summary>
/// <remarks>
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version|  IHL  |  DSCP/ECN     |          Total Length         |
/// |         Identification        |Flags|      Fragment Offset    |
/// |  Time to Live |    Protocol   |         Header Checksum       |
/// |                       Source Address                          |
/// |                    Destination Address                        |
/// |                    Options (IHL > 5, skipped)                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// Flags: reserved, DF (don't fragment), MF (more fragments).
/// </code>
/// </remarks>
internal readonly ref struct Ipv4Packet
{
    public const int MinHeaderLength = 20;
    public const int MaxLength = 65535;

    private static class Field
    {
        public const int VersionIhl = 0;
        public const int Tos = 1;
        public const int TotalLength = 2;
        public const int Identification = 4;
        public const int FlagsFragment = 6;
        public const int Ttl = 8;
        public const int Protocol = 9;
        public const int Checksum = 10;
        public const int Source = 12;
        public const int Destination = 16;
    }

    private const ushort DontFragmentFlag = 0x4000;
    private const ushort MoreFragmentsFlag = 0x2000;
    private const ushort ReservedFlag = 0x8000;

    private readonly Span<byte> _buffer;

    /// <summary>An unchecked view for emitting.</summary>
    public Ipv4Packet(Span<byte> buffer) => _buffer = buffer;

    /// <summary>
    /// Checks version, header length, total length and the header checksum; the view is cut to the total
    /// length (Ethernet pads short frames).
    /// </summary>
    public static WireError TryCreate(Span<byte> buffer, out Ipv4Packet packet, bool verifyChecksum = true)
    {
        packet = default;
        if (buffer.Length < MinHeaderLength)
        {
            return WireError.Truncated;
        }
        if (buffer[Field.VersionIhl] >> 4 != 4)
        {
            return WireError.BadVersion;
        }
        int headerLength = (buffer[Field.VersionIhl] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(buffer[Field.TotalLength..]);
        if (headerLength < MinHeaderLength || totalLength < headerLength)
        {
            return WireError.BadLength;
        }
        if (buffer.Length < totalLength)
        {
            return WireError.Truncated;
        }
        if (verifyChecksum && !InternetChecksum.IsValid(buffer[..headerLength]))
        {
            return WireError.BadChecksum;
        }
        packet = new Ipv4Packet(buffer[..totalLength]);
        return WireError.None;
    }

    public int Version => _buffer[Field.VersionIhl] >> 4;
    public int HeaderLength => (_buffer[Field.VersionIhl] & 0x0F) * 4;
    public byte TypeOfService => _buffer[Field.Tos];
    public int TotalLength => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.TotalLength..]);
    public ushort Identification => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Identification..]);
    private ushort FlagsFragment => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.FlagsFragment..]);
    public bool ReservedFlagSet => (FlagsFragment & ReservedFlag) != 0;
    public bool DontFragment => (FlagsFragment & DontFragmentFlag) != 0;
    public bool MoreFragments => (FlagsFragment & MoreFragmentsFlag) != 0;
    /// <summary>The fragment offset in bytes (the field counts 8-byte units).</summary>
    public int FragmentOffset => (FlagsFragment & 0x1FFF) * 8;
    public byte TimeToLive => _buffer[Field.Ttl];
    public IpProtocol Protocol => (IpProtocol)_buffer[Field.Protocol];
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Checksum..]);
    public Ipv4Address Source => Ipv4Address.Read(_buffer[Field.Source..]);
    public Ipv4Address Destination => Ipv4Address.Read(_buffer[Field.Destination..]);
    public Span<byte> Header => _buffer[..HeaderLength];
    public Span<byte> Payload => _buffer[HeaderLength..TotalLength];

    /// <summary>Writes a 20-byte header without options; the checksum is filled in by <see cref="FillChecksum"/>.</summary>
    public void SetHeader(int totalLength, ushort identification, bool dontFragment, bool moreFragments, int fragmentOffset,
        byte ttl, IpProtocol protocol, Ipv4Address source, Ipv4Address destination)
    {
        _buffer[Field.VersionIhl] = 0x45;
        _buffer[Field.Tos] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.TotalLength..], (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Identification..], identification);
        ushort flags = (ushort)((dontFragment ? DontFragmentFlag : 0) | (moreFragments ? MoreFragmentsFlag : 0) | (fragmentOffset / 8));
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.FlagsFragment..], flags);
        _buffer[Field.Ttl] = ttl;
        _buffer[Field.Protocol] = (byte)protocol;
        source.Write(_buffer[Field.Source..]);
        destination.Write(_buffer[Field.Destination..]);
    }

    public void FillChecksum()
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Checksum..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Checksum..], InternetChecksum.Compute(_buffer[..HeaderLength]));
    }
}
