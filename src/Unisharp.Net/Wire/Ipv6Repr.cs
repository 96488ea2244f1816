namespace Unisharp.Net.Wire;

/// <summary>The fields of an IPv6 header the stack acts on; the extension headers are walked by <see cref="Ipv6HeaderChain"/>.</summary>
/// <param name="NextHeader">The first header after this one (an extension header or the upper-layer protocol).</param>
/// <param name="PayloadLength">Everything after the 40-byte header.</param>
internal readonly record struct Ipv6Repr(
    Ipv6Address Source,
    Ipv6Address Destination,
    IpProtocol NextHeader,
    int PayloadLength,
    byte HopLimit = Ipv6Repr.DefaultHopLimit,
    byte TrafficClass = 0,
    uint FlowLabel = 0)
{
    /// <summary>Linux's default unicast hop limit (RFC 8200 leaves it to the node; RFC 4861 §6.3.2 lets routers set it).</summary>
    public const byte DefaultHopLimit = 64;

    public const int HeaderLength = Ipv6Packet.HeaderLength;

    public int BufferLength => HeaderLength + PayloadLength;

    /// <summary>Parses the header; a multicast source is refused (RFC 4291 §2.7).</summary>
    public static WireError TryParse(Span<byte> buffer, out Ipv6Repr repr, out Span<byte> payload)
    {
        repr = default;
        payload = default;
        var error = Ipv6Packet.TryCreate(buffer, out var packet);
        if (error != WireError.None)
        {
            return error;
        }
        var source = packet.Source;
        if (source.IsMulticast)
        {
            return WireError.BadField;
        }
        payload = packet.Payload;
        repr = new Ipv6Repr(source, packet.Destination, packet.NextHeader, payload.Length, packet.HopLimit, packet.TrafficClass, packet.FlowLabel);
        return WireError.None;
    }

    /// <summary>Writes the 40-byte header before a payload already in place.</summary>
    public void Emit(Span<byte> buffer) =>
        new Ipv6Packet(buffer).SetHeader(PayloadLength, NextHeader, HopLimit, Source, Destination, TrafficClass, FlowLabel);
}
