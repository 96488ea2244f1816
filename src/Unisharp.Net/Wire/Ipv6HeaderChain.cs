using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>
/// Where the upper-layer payload of an IPv6 packet starts, found by walking its extension headers (RFC 8200 §4):
/// hop-by-hop options (first only), destination options, routing (none recognized: with segments left it is a
/// parameter problem, RFC 5095 for type 0) and fragment headers. A non-atomic fragment ends the walk: what follows
/// its header is fragment data. An atomic fragment (offset 0, no more fragments) is walked through (RFC 8021 §4.4).
/// </summary>
/// <remarks>
/// <code>
/// Options headers (hop-by-hop, destination):      Fragment header:
/// +-------------+-------------+-----------...     +-------------+----------+-------------------+-+-+-+
/// | Next Header | Hdr Ext Len | options (TLV)     | Next Header | Reserved | Fragment Offset   |Res|M|
/// +-------------+-------------+-----------...     |                  Identification                 |
/// Routing: Next Header, Hdr Ext Len, Routing Type, Segments Left, type-specific data.
/// Hdr Ext Len counts 8-byte units after the first 8 bytes. An option is Type, Length, Data; the two high bits of an
/// unknown type say what to do: 00 skip, 01 discard, 10 discard and send a parameter problem, 11 the same unless the
/// destination was multicast.
/// </code>
/// </remarks>
/// <param name="Protocol">The upper-layer protocol (or, for a fragment, what its data starts with).</param>
/// <param name="PayloadOffset">Where the upper-layer payload (or the fragment data) starts, from the end of the IPv6 header.</param>
/// <param name="NextHeaderPointer">Where the field naming <paramref name="Protocol"/> is, from the start of the IPv6 header (for a parameter problem).</param>
/// <param name="FragmentOffset">In bytes, when <paramref name="IsFragment"/>.</param>
internal readonly record struct Ipv6HeaderChain(
    IpProtocol Protocol,
    int PayloadOffset,
    int NextHeaderPointer,
    bool IsFragment = false,
    int FragmentOffset = 0,
    bool MoreFragments = false,
    uint FragmentId = 0)
{
    /// <summary>Parameter problem codes (RFC 4443 §3.4).</summary>
    public const byte CodeErroneousField = 0;
    public const byte CodeUnrecognizedNextHeader = 1;
    public const byte CodeUnrecognizedOption = 2;

    public const int FragmentHeaderLength = 8;

    private const byte OptionPad1 = 0;
    private const byte OptionPadN = 1;
    /// <summary>RFC 2711: router alert, in the hop-by-hop header of MLD messages; a host ignores it.</summary>
    private const byte OptionRouterAlert = 5;

    /// <summary>
    /// Walks the headers in <paramref name="payload"/> (what follows the IPv6 header, whose Next Header is
    /// <paramref name="first"/>). On <see cref="Ipv6ChainError.ParameterProblem"/>, <paramref name="problemCode"/> and
    /// <paramref name="problemPointer"/> (from the start of the IPv6 header) say what to report, and
    /// <paramref name="reportToMulticast"/> whether the report is due even for a multicast destination (RFC 4443 §2.4 e.3).
    /// </summary>
    public static Ipv6ChainError TryWalk(ReadOnlySpan<byte> payload, IpProtocol first, out Ipv6HeaderChain chain,
        out byte problemCode, out int problemPointer, out bool reportToMulticast)
    {
        chain = default;
        problemCode = 0;
        problemPointer = 0;
        reportToMulticast = false;
        var next = first;
        int offset = 0;
        int pointer = 6;
        while (true)
        {
            switch (next)
            {
                case IpProtocol.Ipv6HopByHop when offset != 0:
                    // RFC 8200 §4.1: hop-by-hop options only right after the IPv6 header.
                    problemCode = CodeUnrecognizedNextHeader;
                    problemPointer = pointer;
                    return Ipv6ChainError.ParameterProblem;
                case IpProtocol.Ipv6HopByHop or IpProtocol.Ipv6DestinationOptions:
                {
                    if (!TryHeaderLength(payload, offset, out int length))
                    {
                        return Ipv6ChainError.Truncated;
                    }
                    var error = WalkOptions(payload.Slice(offset, length), Ipv6Packet.HeaderLength + offset,
                        out problemPointer, out reportToMulticast);
                    if (error != Ipv6ChainError.None)
                    {
                        problemCode = CodeUnrecognizedOption;
                        return error;
                    }
                    pointer = Ipv6Packet.HeaderLength + offset;
                    next = (IpProtocol)payload[offset];
                    offset += length;
                    break;
                }
                case IpProtocol.Ipv6Routing:
                {
                    if (!TryHeaderLength(payload, offset, out int length) || length < 8)
                    {
                        return Ipv6ChainError.Truncated;
                    }
                    if (payload[offset + 3] != 0)
                    {
                        // RFC 8200 §4.4: an unrecognized routing type with segments left; we recognize none (RFC 5095: not type 0).
                        problemCode = CodeErroneousField;
                        problemPointer = Ipv6Packet.HeaderLength + offset + 2;
                        return Ipv6ChainError.ParameterProblem;
                    }
                    pointer = Ipv6Packet.HeaderLength + offset;
                    next = (IpProtocol)payload[offset];
                    offset += length;
                    break;
                }
                case IpProtocol.Ipv6Fragment:
                {
                    if (payload.Length - offset < FragmentHeaderLength)
                    {
                        return Ipv6ChainError.Truncated;
                    }
                    var header = payload.Slice(offset, FragmentHeaderLength);
                    ushort offsetFlags = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
                    int fragmentOffset = offsetFlags & 0xFFF8;
                    bool more = (offsetFlags & 1) != 0;
                    uint id = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
                    pointer = Ipv6Packet.HeaderLength + offset;
                    next = (IpProtocol)header[0];
                    offset += FragmentHeaderLength;
                    if (fragmentOffset != 0 || more)
                    {
                        int dataLength = payload.Length - offset;
                        // RFC 8200 §4.5: every fragment but the last is a multiple of 8 bytes long.
                        if (more && (dataLength == 0 || dataLength % 8 != 0))
                        {
                            problemCode = CodeErroneousField;
                            problemPointer = 4;
                            return Ipv6ChainError.ParameterProblem;
                        }
                        if (fragmentOffset + dataLength > Ipv6Packet.MaxPayloadLength)
                        {
                            problemCode = CodeErroneousField;
                            problemPointer = pointer + 2;
                            return Ipv6ChainError.ParameterProblem;
                        }
                        chain = new Ipv6HeaderChain(next, offset, pointer, true, fragmentOffset, more, id);
                        return Ipv6ChainError.None;
                    }
                    break;
                }
                case IpProtocol.Ipv6NoNextHeader:
                    return Ipv6ChainError.Discard;
                default:
                    chain = new Ipv6HeaderChain(next, offset, pointer);
                    return Ipv6ChainError.None;
            }
        }
    }

    /// <summary>Writes a fragment header: next header, offset in bytes (a multiple of 8), more-fragments flag, identification.</summary>
    public static void EmitFragmentHeader(Span<byte> header, IpProtocol next, int offset, bool more, uint identification)
    {
        header[0] = (byte)next;
        header[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)(offset & 0xFFF8 | (more ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], identification);
    }

    private static bool TryHeaderLength(ReadOnlySpan<byte> payload, int offset, out int length)
    {
        length = 0;
        if (payload.Length - offset < 8)
        {
            return false;
        }
        length = (payload[offset + 1] + 1) * 8;
        return payload.Length - offset >= length;
    }

    private static Ipv6ChainError WalkOptions(ReadOnlySpan<byte> header, int headerStart, out int problemPointer, out bool reportToMulticast)
    {
        problemPointer = 0;
        reportToMulticast = false;
        int i = 2;
        while (i < header.Length)
        {
            byte type = header[i];
            if (type == OptionPad1)
            {
                i++;
                continue;
            }
            if (i + 2 > header.Length || i + 2 + header[i + 1] > header.Length)
            {
                return Ipv6ChainError.Truncated;
            }
            if (type is not (OptionPadN or OptionRouterAlert))
            {
                switch (type >> 6)
                {
                    case 1:
                        return Ipv6ChainError.Discard;
                    case 2 or 3:
                        problemPointer = headerStart + i;
                        reportToMulticast = type >> 6 == 2;
                        return Ipv6ChainError.ParameterProblem;
                }
            }
            i += 2 + header[i + 1];
        }
        return Ipv6ChainError.None;
    }
}
