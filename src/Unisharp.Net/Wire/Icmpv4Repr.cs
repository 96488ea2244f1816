namespace Unisharp.Net.Wire;

/// <summary>An ICMPv4 message header; its data (echo payload, or the offending datagram's start) travels beside it.</summary>
/// <param name="Identifier">Echo: the identifier. Destination unreachable: unused (zero).</param>
/// <param name="SequenceNumber">Echo: the sequence number. Destination unreachable, code 4: the next-hop MTU (RFC 1191).</param>
/// <param name="DataLength">How many bytes follow the 8-byte header.</param>
internal readonly record struct Icmpv4Repr(Icmpv4Type Type, byte Code, ushort Identifier, ushort SequenceNumber, int DataLength)
{
    /// <summary>Destination unreachable codes (RFC 792, RFC 1122 §3.2.2.1).</summary>
    public const byte CodeProtocolUnreachable = 2;
    public const byte CodePortUnreachable = 3;
    public const byte CodeFragmentationNeeded = 4;

    /// <summary>
    /// The most an ICMP error quotes of the offending datagram's data: RFC 792 asks for at least its header and
    /// 8 bytes; RFC 1812 §4.3.2.3 for as much as keeps the error within 576 bytes, as Linux does.
    /// </summary>
    public const int MaxQuotedData = 576 - 20 - Icmpv4Packet.HeaderLength - 20;

    public int BufferLength => Icmpv4Packet.HeaderLength + DataLength;

    public static WireError TryParse(Span<byte> buffer, out Icmpv4Repr repr, out Span<byte> data)
    {
        repr = default;
        data = default;
        var error = Icmpv4Packet.TryCreate(buffer, out var packet);
        if (error != WireError.None)
        {
            return error;
        }
        data = packet.Data;
        repr = new Icmpv4Repr(packet.Type, packet.Code, packet.Identifier, packet.SequenceNumber, data.Length);
        return WireError.None;
    }

    /// <summary>Writes the header and <paramref name="data"/> (which may already be in place) and the checksum.</summary>
    public void Emit(Span<byte> buffer, ReadOnlySpan<byte> data)
    {
        var packet = new Icmpv4Packet(buffer[..BufferLength]);
        packet.SetHeader(Type, Code, Identifier, SequenceNumber);
        if (!WireSpans.SameStart(data, packet.Data))
        {
            data[..DataLength].CopyTo(packet.Data);
        }
        packet.FillChecksum();
    }
}
