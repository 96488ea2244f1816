namespace Unisharp.Net.Wire;

/// <summary>An ICMPv6 message header; its data (echo payload, an NDP body, or the offending packet's start) travels beside it.</summary>
/// <param name="Parameter">
/// The four bytes after the checksum: echo identifier and sequence, packet too big's MTU, parameter problem's pointer;
/// for NDP messages their first fixed fields (<see cref="NdpRepr"/>).
/// </param>
/// <param name="DataLength">How many bytes follow the 8-byte header.</param>
internal readonly record struct Icmpv6Repr(Icmpv6Type Type, byte Code, uint Parameter, int DataLength)
{
    /// <summary>Destination unreachable codes (RFC 4443 §3.1).</summary>
    public const byte CodeNoRoute = 0;
    public const byte CodeAddressUnreachable = 3;
    public const byte CodePortUnreachable = 4;

    /// <summary>RFC 4443 §2.4 (c): an error carries as much of the offending packet as fits in the minimum MTU.</summary>
    public const int MaxErrorLength = Ipv6Packet.MinimumMtu - Ipv6Packet.HeaderLength;

    public ushort Identifier => (ushort)(Parameter >> 16);
    public ushort SequenceNumber => (ushort)Parameter;

    public int BufferLength => Icmpv6Packet.HeaderLength + DataLength;

    public static Icmpv6Repr Echo(Icmpv6Type type, ushort identifier, ushort sequence, int dataLength) =>
        new(type, 0, (uint)identifier << 16 | sequence, dataLength);

    /// <summary>True for the error messages (types below 128, RFC 4443 §2.1): never answered with an error.</summary>
    public bool IsError => (byte)Type < 128;

    public static WireError TryParse(Span<byte> buffer, Ipv6Address source, Ipv6Address destination, out Icmpv6Repr repr,
        out Span<byte> data, bool verifyChecksum = true)
    {
        repr = default;
        data = default;
        var error = Icmpv6Packet.TryCreate(buffer, source, destination, out var packet, verifyChecksum);
        if (error != WireError.None)
        {
            return error;
        }
        data = packet.Data;
        repr = new Icmpv6Repr(packet.Type, packet.Code, packet.Parameter, data.Length);
        return WireError.None;
    }

    /// <summary>Writes the header and <paramref name="data"/> (which may already be in place) and the checksum.</summary>
    public void Emit(Span<byte> buffer, ReadOnlySpan<byte> data, Ipv6Address source, Ipv6Address destination)
    {
        var packet = new Icmpv6Packet(buffer[..BufferLength]);
        packet.SetHeader(Type, Code, Parameter);
        if (!WireSpans.SameStart(data, packet.Data))
        {
            data[..DataLength].CopyTo(packet.Data);
        }
        packet.FillChecksum(source, destination);
    }
}
