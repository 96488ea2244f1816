namespace Unisharp.Net.Wire;

/// <summary>A UDP header; the payload travels beside it.</summary>
internal readonly record struct UdpRepr(ushort SourcePort, ushort DestinationPort, int PayloadLength)
{
    /// <summary>The largest payload in one IPv4 datagram: 65535 - 20 - 8.</summary>
    public const int MaxPayloadLength = 65507;

    public int BufferLength => UdpPacket.HeaderLength + PayloadLength;

    /// <summary>Parses and verifies the checksum (unless a device already did) against the pseudo-header of the enclosing IPv4 datagram.</summary>
    public static WireError TryParse(Span<byte> buffer, Ipv4Address source, Ipv4Address destination, out UdpRepr repr, out Span<byte> payload,
        bool verifyChecksum = true)
    {
        repr = default;
        payload = default;
        var error = UdpPacket.TryCreate(buffer, out var packet);
        if (error != WireError.None)
        {
            return error;
        }
        if (verifyChecksum && !packet.VerifyChecksum(source, destination))
        {
            return WireError.BadChecksum;
        }
        // RFC 768: the destination port is required; zero is reserved.
        if (packet.DestinationPort == 0)
        {
            return WireError.BadField;
        }
        payload = packet.Payload;
        repr = new UdpRepr(packet.SourcePort, packet.DestinationPort, payload.Length);
        return WireError.None;
    }

    /// <summary>Writes the header, copies <paramref name="payload"/> unless it is already in place, and fills the checksum.</summary>
    public void Emit(Span<byte> buffer, ReadOnlySpan<byte> payload, Ipv4Address source, Ipv4Address destination)
    {
        var packet = new UdpPacket(buffer[..BufferLength]);
        packet.SetHeader(SourcePort, DestinationPort, BufferLength);
        var target = buffer.Slice(UdpPacket.HeaderLength, PayloadLength);
        // The caller may have written the payload in place already: then there is nothing to move.
        if (!WireSpans.SameStart(payload, target))
        {
            payload[..PayloadLength].CopyTo(target);
        }
        packet.FillChecksum(source, destination);
    }
}
