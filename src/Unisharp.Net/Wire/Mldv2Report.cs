using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>
/// An MLDv2 listener report (RFC 3810 §5.2): one record per group, with no sources. Sent from the link-local (or
/// unspecified) address to ff02::16 with hop limit 1 behind a hop-by-hop router alert (<see cref="RouterAlertHeaderLength"/>),
/// so snooping switches deliver the solicited-node groups' traffic to us.
/// </summary>
/// <remarks>
/// <code>
/// | Type 143 | Code 0 | Checksum | Reserved(2) | Nr of Mcast Address Records(2) |
/// records: | Record Type | Aux Data Len 0 | Number of Sources 0 (2) | Multicast Address (16) |
/// </code>
/// </remarks>
internal static class Mldv2Report
{
    public const int RecordLength = 20;
    /// <summary>MODE_IS_EXCLUDE with no sources: a listener to every source (the answer to a query).</summary>
    public const byte ModeIsExclude = 2;
    /// <summary>CHANGE_TO_EXCLUDE_MODE: a group just joined (RFC 3810 §6.1).</summary>
    public const byte ChangeToExclude = 4;
    /// <summary>A hop-by-hop header with the router alert option (RFC 2711, value 0: MLD) and PadN.</summary>
    public const int RouterAlertHeaderLength = 8;

    public static int BufferLength(int groups) => Icmpv6Packet.HeaderLength + groups * RecordLength;

    /// <summary>Writes the report, checksum included.</summary>
    public static void Emit(Span<byte> buffer, ReadOnlySpan<Ipv6Address> groups, byte recordType, Ipv6Address source, Ipv6Address destination)
    {
        var data = buffer.Slice(Icmpv6Packet.HeaderLength, groups.Length * RecordLength);
        for (int i = 0; i < groups.Length; i++)
        {
            var record = data.Slice(i * RecordLength, RecordLength);
            record[0] = recordType;
            record[1] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(record[2..], 0);
            groups[i].Write(record[4..]);
        }
        new Icmpv6Repr(Icmpv6Type.Mldv2Report, 0, (uint)groups.Length, data.Length).Emit(buffer, data, source, destination);
    }

    /// <summary>Writes the hop-by-hop header that precedes the report: next header ICMPv6, router alert MLD, PadN.</summary>
    public static void EmitRouterAlertHeader(Span<byte> header)
    {
        header[0] = (byte)IpProtocol.Icmpv6;
        header[1] = 0;
        header[2] = 5;
        header[3] = 2;
        header[4] = 0;
        header[5] = 0;
        header[6] = 1;
        header[7] = 0;
    }
}
