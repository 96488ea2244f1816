using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>
/// A Neighbor Discovery message (RFC 4861 §4): router solicitation and advertisement, neighbor solicitation and
/// advertisement. Redirects are not parsed (a host may ignore them, RFC 4861 §8.3). Parsing applies the validity checks
/// of RFC 4861 §6.1 and §7.1 (hop limit 255, code 0, lengths, no zero-length option, source and destination rules).
/// A router advertisement's prefixes are read with <see cref="NdpOptionReader"/> over <c>options</c>; <see cref="Prefix"/>
/// holds the first, and is what <see cref="Emit"/> writes.
/// </summary>
/// <remarks>
/// <code>
/// After type, code, checksum:
/// RS: Reserved(4)                                        options
/// RA: Cur Hop Limit(1) |M|O|res (1) Router Lifetime(2)   Reachable Time(4) Retrans Timer(4) options
/// NS: Reserved(4)                                        Target Address(16) options
/// NA: |R|S|O| Reserved(29 bits)                          Target Address(16) options
/// </code>
/// </remarks>
internal readonly record struct NdpRepr(
    Icmpv6Type Type,
    Ipv6Address Target = default,
    MacAddress? SourceLinkLayer = null,
    MacAddress? TargetLinkLayer = null,
    bool Router = false,
    bool Solicited = false,
    bool Override = false,
    byte CurHopLimit = 0,
    bool Managed = false,
    bool OtherConfig = false,
    ushort RouterLifetime = 0,
    uint ReachableTime = 0,
    uint RetransTimer = 0,
    uint? Mtu = null,
    NdpPrefixInformation? Prefix = null,
    ulong? Nonce = null)
{
    /// <summary>RFC 4861 §6.1, §7.1.1: ND messages arrive with hop limit 255, so they come from the link.</summary>
    public const byte HopLimit = 255;

    private const int LinkLayerOptionLength = 8;
    private const int MtuOptionLength = 8;
    private const int PrefixOptionLength = 32;
    private const int NonceOptionLength = 8;

    /// <summary>Where the options start in the ICMPv6 data (after the 8-byte ICMPv6 header).</summary>
    private int FixedDataLength => Type switch
    {
        Icmpv6Type.RouterAdvertisement => 8,
        Icmpv6Type.NeighborSolicitation or Icmpv6Type.NeighborAdvertisement => Ipv6Address.Length,
        _ => 0,
    };

    public int DataLength =>
        FixedDataLength
        + (SourceLinkLayer is null ? 0 : LinkLayerOptionLength)
        + (TargetLinkLayer is null ? 0 : LinkLayerOptionLength)
        + (Mtu is null ? 0 : MtuOptionLength)
        + (Prefix is null ? 0 : PrefixOptionLength)
        + (Nonce is null ? 0 : NonceOptionLength);

    public int BufferLength => Icmpv6Packet.HeaderLength + DataLength;

    private uint Parameter => Type switch
    {
        Icmpv6Type.RouterAdvertisement => (uint)CurHopLimit << 24 | (Managed ? 0x80u << 16 : 0) | (OtherConfig ? 0x40u << 16 : 0) | RouterLifetime,
        Icmpv6Type.NeighborAdvertisement => (Router ? 0x8000_0000u : 0) | (Solicited ? 0x4000_0000u : 0) | (Override ? 0x2000_0000u : 0),
        _ => 0,
    };

    public static WireError TryParse(in Ipv6Repr ip, in Icmpv6Repr icmp, ReadOnlySpan<byte> data, out NdpRepr ndp, out ReadOnlySpan<byte> options)
    {
        ndp = default;
        options = default;
        if (icmp.Type is not (Icmpv6Type.RouterSolicitation or Icmpv6Type.RouterAdvertisement
            or Icmpv6Type.NeighborSolicitation or Icmpv6Type.NeighborAdvertisement))
        {
            return WireError.Unsupported;
        }
        if (ip.HopLimit != HopLimit || icmp.Code != 0)
        {
            return WireError.BadField;
        }
        var shape = new NdpRepr(icmp.Type);
        if (data.Length < shape.FixedDataLength)
        {
            return WireError.Truncated;
        }
        options = data[shape.FixedDataLength..];
        if (!NdpOptionReader.Validate(options))
        {
            return WireError.BadLength;
        }
        MacAddress? source = null, target = null;
        uint? mtu = null;
        NdpPrefixInformation? prefix = null;
        ulong? nonce = null;
        var reader = new NdpOptionReader(options);
        while (reader.TryNext(out var type, out var option))
        {
            switch (type)
            {
                case NdpOptionType.SourceLinkLayerAddress when option.Length >= MacAddress.Length:
                    source = MacAddress.Read(option);
                    break;
                case NdpOptionType.TargetLinkLayerAddress when option.Length >= MacAddress.Length:
                    target = MacAddress.Read(option);
                    break;
                case NdpOptionType.Mtu when option.Length >= 6:
                    mtu = BinaryPrimitives.ReadUInt32BigEndian(option[2..]);
                    break;
                case NdpOptionType.PrefixInformation when prefix is null && NdpPrefixInformation.TryRead(option, out var p):
                    prefix = p;
                    break;
                case NdpOptionType.Nonce when option.Length == 6:
                    nonce = (ulong)BinaryPrimitives.ReadUInt16BigEndian(option) << 32 | BinaryPrimitives.ReadUInt32BigEndian(option[2..]);
                    break;
            }
        }
        uint parameter = icmp.Parameter;
        switch (icmp.Type)
        {
            case Icmpv6Type.RouterSolicitation:
                // RFC 4861 §6.1.1: no source link-layer option from the unspecified address.
                if (ip.Source.IsUnspecified && source is not null)
                {
                    return WireError.BadField;
                }
                ndp = new NdpRepr(icmp.Type, SourceLinkLayer: source, Nonce: nonce);
                return WireError.None;
            case Icmpv6Type.RouterAdvertisement:
                // RFC 4861 §6.1.2: from a link-local address.
                if (!ip.Source.IsLinkLocal)
                {
                    return WireError.BadField;
                }
                ndp = new NdpRepr(icmp.Type, SourceLinkLayer: source, CurHopLimit: (byte)(parameter >> 24),
                    Managed: (parameter & 0x80_0000) != 0, OtherConfig: (parameter & 0x40_0000) != 0, RouterLifetime: (ushort)parameter,
                    ReachableTime: BinaryPrimitives.ReadUInt32BigEndian(data), RetransTimer: BinaryPrimitives.ReadUInt32BigEndian(data[4..]),
                    Mtu: mtu, Prefix: prefix);
                return WireError.None;
            case Icmpv6Type.NeighborSolicitation:
            {
                var targetAddress = Ipv6Address.Read(data);
                // RFC 4861 §7.1.1: never for a multicast target; a DAD probe (unspecified source) goes to a
                // solicited-node group and carries no source link-layer option.
                if (targetAddress.IsMulticast || (ip.Source.IsUnspecified
                    && (source is not null || ip.Destination != targetAddress.SolicitedNode)))
                {
                    return WireError.BadField;
                }
                ndp = new NdpRepr(icmp.Type, targetAddress, SourceLinkLayer: source, Nonce: nonce);
                return WireError.None;
            }
            default:
            {
                var targetAddress = Ipv6Address.Read(data);
                bool solicited = (parameter & 0x4000_0000) != 0;
                // RFC 4861 §7.1.2: never for a multicast target, never solicited when sent to a group.
                if (targetAddress.IsMulticast || (ip.Destination.IsMulticast && solicited))
                {
                    return WireError.BadField;
                }
                ndp = new NdpRepr(icmp.Type, targetAddress, TargetLinkLayer: target, Router: (parameter & 0x8000_0000) != 0,
                    Solicited: solicited, Override: (parameter & 0x2000_0000) != 0);
                return WireError.None;
            }
        }
    }

    /// <summary>Writes the whole ICMPv6 message, checksum included, into <paramref name="buffer"/> (at least <see cref="BufferLength"/>).</summary>
    public void Emit(Span<byte> buffer, Ipv6Address source, Ipv6Address destination)
    {
        var data = buffer.Slice(Icmpv6Packet.HeaderLength, DataLength);
        int at = 0;
        switch (Type)
        {
            case Icmpv6Type.RouterAdvertisement:
                BinaryPrimitives.WriteUInt32BigEndian(data, ReachableTime);
                BinaryPrimitives.WriteUInt32BigEndian(data[4..], RetransTimer);
                at = 8;
                break;
            case Icmpv6Type.NeighborSolicitation or Icmpv6Type.NeighborAdvertisement:
                Target.Write(data);
                at = Ipv6Address.Length;
                break;
        }
        if (SourceLinkLayer is { } sll)
        {
            at += WriteLinkLayer(data[at..], NdpOptionType.SourceLinkLayerAddress, sll);
        }
        if (TargetLinkLayer is { } tll)
        {
            at += WriteLinkLayer(data[at..], NdpOptionType.TargetLinkLayerAddress, tll);
        }
        if (Prefix is { } prefix)
        {
            data[at] = (byte)NdpOptionType.PrefixInformation;
            data[at + 1] = PrefixOptionLength / 8;
            prefix.Write(data[(at + 2)..]);
            at += PrefixOptionLength;
        }
        if (Mtu is { } mtu)
        {
            data[at] = (byte)NdpOptionType.Mtu;
            data[at + 1] = 1;
            BinaryPrimitives.WriteUInt16BigEndian(data[(at + 2)..], 0);
            BinaryPrimitives.WriteUInt32BigEndian(data[(at + 4)..], mtu);
            at += MtuOptionLength;
        }
        if (Nonce is { } nonce)
        {
            data[at] = (byte)NdpOptionType.Nonce;
            data[at + 1] = 1;
            BinaryPrimitives.WriteUInt16BigEndian(data[(at + 2)..], (ushort)(nonce >> 32));
            BinaryPrimitives.WriteUInt32BigEndian(data[(at + 4)..], (uint)nonce);
        }
        new Icmpv6Repr(Type, 0, Parameter, DataLength).Emit(buffer, data, source, destination);
    }

    private static int WriteLinkLayer(Span<byte> option, NdpOptionType type, MacAddress mac)
    {
        option[0] = (byte)type;
        option[1] = 1;
        mac.Write(option[2..]);
        return LinkLayerOptionLength;
    }
}
