namespace Unisharp.Net.Wire;

/// <summary>
/// The fields of an IPv4 header the stack acts on. Options are skipped on parse and never emitted.
/// </summary>
/// <param name="PayloadLength">The length of this packet's payload (a fragment's share, for fragments).</param>
/// <param name="FragmentOffset">In bytes; a multiple of 8.</param>
internal readonly record struct Ipv4Repr(
    Ipv4Address Source,
    Ipv4Address Destination,
    IpProtocol Protocol,
    int PayloadLength,
    byte TimeToLive = Ipv4Repr.DefaultTtl,
    ushort Identification = 0,
    bool DontFragment = false,
    bool MoreFragments = false,
    int FragmentOffset = 0)
{
    /// <summary>RFC 1700 / RFC 1122 §3.2.1.7 recommend 64.</summary>
    public const byte DefaultTtl = 64;

    public const int HeaderLength = Ipv4Packet.MinHeaderLength;

    public int BufferLength => HeaderLength + PayloadLength;

    public bool IsFragment => MoreFragments || FragmentOffset != 0;

    public static WireError TryParse(Span<byte> buffer, out Ipv4Repr repr, out Span<byte> payload, bool verifyChecksum = true)
    {
        repr = default;
        payload = default;
        var error = Ipv4Packet.TryCreate(buffer, out var packet, verifyChecksum);
        if (error != WireError.None)
        {
            return error;
        }
        // RFC 791 §3.1: the reserved flag must be zero; RFC 1122 §3.2.1.3: a broadcast or multicast source is bogus.
        if (packet.ReservedFlagSet || packet.Source.IsMulticast || packet.Source.IsBroadcast)
        {
            return WireError.BadField;
        }
        payload = packet.Payload;
        // RFC 791 §2.3: every fragment but the last carries a multiple of 8 bytes.
        if (packet.MoreFragments && (payload.Length % 8 != 0 || payload.Length == 0))
        {
            return WireError.BadLength;
        }
        if (packet.FragmentOffset + payload.Length > Ipv4Packet.MaxLength)
        {
            return WireError.BadLength;
        }
        repr = new Ipv4Repr(packet.Source, packet.Destination, packet.Protocol, payload.Length, packet.TimeToLive,
            packet.Identification, packet.DontFragment, packet.MoreFragments, packet.FragmentOffset);
        return WireError.None;
    }

    /// <summary>Writes the 20-byte header, checksum included, before a payload already in place.</summary>
    public void Emit(Span<byte> buffer)
    {
        var packet = new Ipv4Packet(buffer);
        packet.SetHeader(BufferLength, Identification, DontFragment, MoreFragments, FragmentOffset, TimeToLive, Protocol, Source, Destination);
        packet.FillChecksum();
    }
}
