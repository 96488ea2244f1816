using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>A zero-copy view of an IPv6 header and its payload (RFC 8200 §3).</summary>
/// <remarks>
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Traffic Class |           Flow Label                  |
/// |         Payload Length        |  Next Header  |   Hop Limit   |
/// |                  Source Address (16 bytes)                    |
/// |               Destination Address (16 bytes)                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// The payload length counts everything after the 40-byte header, extension headers included.
/// </code>
/// </remarks>
internal readonly ref struct Ipv6Packet
{
    public const int HeaderLength = 40;
    /// <summary>The largest payload without a jumbogram option.</summary>
    public const int MaxPayloadLength = 65535;
    /// <summary>RFC 8200 §5: every link carries packets of 1280 bytes.</summary>
    public const int MinimumMtu = 1280;

    private static class Field
    {
        public const int VersionClassFlow = 0;
        public const int PayloadLength = 4;
        public const int NextHeader = 6;
        public const int HopLimit = 7;
        public const int Source = 8;
        public const int Destination = 24;
    }

    private readonly Span<byte> _buffer;

    /// <summary>An unchecked view for emitting.</summary>
    public Ipv6Packet(Span<byte> buffer) => _buffer = buffer;

    /// <summary>Checks the version and the payload length; the view is cut to the packet (Ethernet pads short frames).</summary>
    public static WireError TryCreate(Span<byte> buffer, out Ipv6Packet packet)
    {
        packet = default;
        if (buffer.Length < HeaderLength)
        {
            return WireError.Truncated;
        }
        if (buffer[Field.VersionClassFlow] >> 4 != 6)
        {
            return WireError.BadVersion;
        }
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(buffer[Field.PayloadLength..]);
        // A zero payload length means a jumbogram (RFC 2675) only with a hop-by-hop option we do not take; else it is empty.
        if (buffer.Length < HeaderLength + payloadLength)
        {
            return WireError.Truncated;
        }
        packet = new Ipv6Packet(buffer[..(HeaderLength + payloadLength)]);
        return WireError.None;
    }

    public int Version => _buffer[Field.VersionClassFlow] >> 4;
    public byte TrafficClass => (byte)(BinaryPrimitives.ReadUInt16BigEndian(_buffer) >> 4);
    public uint FlowLabel => BinaryPrimitives.ReadUInt32BigEndian(_buffer) & 0xF_FFFF;
    public int PayloadLength => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.PayloadLength..]);
    public IpProtocol NextHeader => (IpProtocol)_buffer[Field.NextHeader];
    public byte HopLimit => _buffer[Field.HopLimit];
    public Ipv6Address Source => Ipv6Address.Read(_buffer[Field.Source..]);
    public Ipv6Address Destination => Ipv6Address.Read(_buffer[Field.Destination..]);
    public Span<byte> Payload => _buffer[HeaderLength..(HeaderLength + PayloadLength)];

    public void SetHeader(int payloadLength, IpProtocol nextHeader, byte hopLimit, Ipv6Address source, Ipv6Address destination,
        byte trafficClass = 0, uint flowLabel = 0)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_buffer, 6u << 28 | (uint)trafficClass << 20 | (flowLabel & 0xF_FFFF));
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.PayloadLength..], (ushort)payloadLength);
        _buffer[Field.NextHeader] = (byte)nextHeader;
        _buffer[Field.HopLimit] = hopLimit;
        source.Write(_buffer[Field.Source..]);
        destination.Write(_buffer[Field.Destination..]);
    }
}
