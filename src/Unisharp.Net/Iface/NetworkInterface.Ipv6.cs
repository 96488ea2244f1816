using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Net.Ip;
using Unisharp.Net.Ndp;
using Unisharp.Net.Tcp;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Iface;

/// <summary>
/// IPv6 beside IPv4 (RFC 8200): a link-local address from the MAC (modified EUI-64, or RFC 7217 stable-privacy),
/// duplicate address detection (RFC 4862 §5.4, with RFC 7527's nonce), router solicitation, SLAAC from router
/// advertisements with their lifetimes and default routers (RFC 4862 §5.5, RFC 4861 §6.3.4), a static address and
/// gateway, the neighbour cache (<see cref="NeighborCache"/>), echo, ICMPv6 errors, and MLDv2 reports for the
/// solicited-node groups (RFC 3810). Everything runs on the polling thread.
/// </summary>
internal sealed partial class NetworkInterface
{
    private const int MaxIpv6Addresses = 4;
    private const int MaxRouters = 4;
    private const int MaxOnLinkPrefixes = 4;
    /// <summary>RFC 4861 §10: MAX_RTR_SOLICITATIONS, RTR_SOLICITATION_INTERVAL.</summary>
    private const int MaxRouterSolicitations = 3;
    private static readonly Duration s_routerSolicitationInterval = Duration.FromSeconds(4);
    /// <summary>RFC 4862 §5.5.3 (e): a valid lifetime is not cut below two hours by an unauthenticated advertisement.</summary>
    private static readonly Duration s_twoHours = Duration.FromSeconds(2 * 3600);
    /// <summary>RFC 3810 §9.1: the robustness variable: unsolicited reports are sent twice, a second apart.</summary>
    private const int MldReportCount = 2;
    private static readonly Duration s_mldReportInterval = Duration.FromSeconds(1);

    private struct AddressEntry
    {
        public Ipv6Address Address;
        public int PrefixLength;
        public Ipv6AddressState State;
        public bool Autoconfigured;
        public Instant PreferredUntil;
        public Instant ValidUntil;
        /// <summary>Tentative: when the next DAD step is due.</summary>
        public Instant DadAt;
        public bool DadProbeSent;
        public ulong Nonce;
    }

    private struct RouterEntry
    {
        public Ipv6Address Address;
        public Instant Until;
    }

    /// <summary>A path MTU learnt from a packet too big message (RFC 8201), forgotten after <see cref="s_pathMtuLifetime"/>.</summary>
    private struct PathMtuEntry
    {
        public Ipv6Address Destination;
        public int Mtu;
        public Instant Until;
    }

    private const int MaxPathMtus = 8;
    /// <summary>RFC 8201 §4: try a larger path MTU again after no less than 5 minutes (10 recommended).</summary>
    private static readonly Duration s_pathMtuLifetime = Duration.FromSeconds(600);

    private readonly PathMtuEntry[] _pathMtus = new PathMtuEntry[MaxPathMtus];

    private struct PrefixEntry
    {
        public Ipv6Address Prefix;
        public int Length;
        public Instant Until;
    }

    private readonly AddressEntry[] _v6Addresses = new AddressEntry[MaxIpv6Addresses];
    private readonly RouterEntry[] _routers = new RouterEntry[MaxRouters];
    private readonly PrefixEntry[] _onLink = new PrefixEntry[MaxOnLinkPrefixes];
    private readonly Ipv6Address[] _mldGroups = new Ipv6Address[MaxIpv6Addresses];
    private NeighborCache? _neighbors;
    private ReassemblyBuffer? _reassembly6;
    private uint _nextFragmentId;
    private byte[] _v6Scratch = [];
    private bool _ipv6;
    private bool _autoconf;
    private int _v6Mtu;
    private byte _v6HopLimit = Ipv6Repr.DefaultHopLimit;
    private int _routerSolicitationsSent;
    private Instant _routerSolicitationAt = Instant.Never;
    private Instant _mldAt = Instant.Never;
    private int _mldReportsLeft;
    private byte _mldRecordType = Mldv2Report.ChangeToExclude;
    private ulong _stableKey0;
    private ulong _stableKey1;

    /// <summary>True when IPv6 runs on this interface.</summary>
    public bool Ipv6Enabled => _ipv6;

    /// <summary>The neighbour cache (null without IPv6), for tests of the bound.</summary>
    internal NeighborCache? Neighbors => _neighbors;

    /// <summary>IPv6 fragments in reassembly (null without IPv6), for tests of the bound.</summary>
    internal ReassemblyBuffer? Reassembly6 => _reassembly6;

    /// <summary>The last ICMPv6 echo reply received (identifier, sequence, sender).</summary>
    public (ushort Identifier, ushort Sequence, Ipv6Address From)? LastEchoReplyV6 { get; private set; }

    /// <summary>Called on the polling thread when an IPv6 address becomes usable (after DAD) or goes.</summary>
    public Action<Ipv6Cidr, bool>? Ipv6AddressChanged { get; set; }

    /// <summary>The state of <paramref name="address"/> on this interface (<see cref="Ipv6AddressState.Free"/> when it is not ours).</summary>
    public Ipv6AddressState Ipv6StateOf(Ipv6Address address)
    {
        int i = FindAddress(address);
        return i < 0 ? Ipv6AddressState.Free : _v6Addresses[i].State;
    }

    /// <summary>The usable (preferred or deprecated) IPv6 addresses, for tests and logs.</summary>
    public List<Ipv6Cidr> Ipv6Addresses()
    {
        var list = new List<Ipv6Cidr>();
        foreach (var e in _v6Addresses)
        {
            if (e.State is Ipv6AddressState.Preferred or Ipv6AddressState.Deprecated)
            {
                list.Add(new Ipv6Cidr(e.Address, e.PrefixLength));
            }
        }
        return list;
    }

    /// <summary>The link-local address (whatever its state), or null without IPv6.</summary>
    public Ipv6Address? LinkLocalAddress
    {
        get
        {
            foreach (var e in _v6Addresses)
            {
                if (e.State is not (Ipv6AddressState.Free or Ipv6AddressState.Duplicate) && e.Address.IsLinkLocal)
                {
                    return e.Address;
                }
            }
            return null;
        }
    }

    private void InitializeIpv6(in IpConfiguration ip, Instant now)
    {
        _autoconf = ip.Ipv6Autoconfiguration;
        if (!_autoconf && ip.Ipv6Address is null)
        {
            return;
        }
        if (_mtu < Ipv6Packet.MinimumMtu)
        {
            _log.Warning(Source, $"{_device.Name} has MTU {_mtu}, below IPv6's minimum of {Ipv6Packet.MinimumMtu}; IPv6 is off");
            return;
        }
        _ipv6 = true;
        _v6Mtu = _mtu;
        _v6Scratch = new byte[_mtu];
        _neighbors = new NeighborCache(_options.NeighborCacheCapacity);
        // RFC 8200 §4.5: 60 s to reassemble.
        _reassembly6 = new ReassemblyBuffer(_options.ReassemblyCapacity, Duration.FromSeconds(60), _options.ReassemblyMaxBytes);
        Span<byte> key = stackalloc byte[20];
        _entropy.Fill(key);
        // RFC 7739: fragment identifications not predictable from outside.
        _nextFragmentId = BitConverter.ToUInt32(key[16..]);
        _stableKey0 = BitConverter.ToUInt64(key);
        _stableKey1 = BitConverter.ToUInt64(key[8..]);
        JoinMulticast(Ipv6Address.AllNodes.MulticastMac);
        var linkLocalPrefix = new Ipv6Address(0xFE80_0000_0000_0000UL, 0);
        AddAddress(new Ipv6Address(linkLocalPrefix.High, InterfaceIdentifier(linkLocalPrefix)), 64, autoconfigured: true,
            Instant.Never, Instant.Never, now);
        if (ip.Ipv6Address is { } cidr)
        {
            AddAddress(cidr.Address, cidr.PrefixLength, autoconfigured: false, Instant.Never, Instant.Never, now);
            UpdateOnLink(cidr.Address.Prefix(cidr.PrefixLength), cidr.PrefixLength, Instant.Never);
        }
        if (ip.Ipv6Gateway is { } gateway)
        {
            UpdateRouter(gateway, Instant.Never);
        }
    }

    /// <summary>
    /// The interface identifier for <paramref name="prefix"/>: modified EUI-64 from the MAC (RFC 4291 appendix A), or with
    /// <see cref="NetworkInterfaceOptions.Ipv6StablePrivacy"/> RFC 7217's F(prefix, MAC, DAD counter, secret key) with
    /// SipHash and a key from our entropy.
    /// </summary>
    private ulong InterfaceIdentifier(Ipv6Address prefix)
    {
        if (!_options.Ipv6StablePrivacy)
        {
            return Ipv6Address.InterfaceIdentifier(_mac);
        }
        Span<byte> input = stackalloc byte[8 + MacAddress.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(input, prefix.High);
        _mac.Write(input[8..]);
        ulong id = SipHash.Hash(_stableKey0, _stableKey1, input);
        // RFC 7136: the universal/local bit carries no meaning; avoid the reserved identifiers of RFC 5453 (0, and fdff:ffff:ffff:ff80 and up).
        return id is 0 or >= 0xFDFF_FFFF_FFFF_FF80UL ? id ^ 0x0100_0000_0000_0000UL : id;
    }

    private int FindAddress(Ipv6Address address)
    {
        for (int i = 0; i < _v6Addresses.Length; i++)
        {
            if (_v6Addresses[i].State != Ipv6AddressState.Free && _v6Addresses[i].Address == address)
            {
                return i;
            }
        }
        return -1;
    }

    private void AddAddress(Ipv6Address address, int prefixLength, bool autoconfigured, Instant preferredUntil, Instant validUntil, Instant now)
    {
        int slot = -1;
        for (int i = 0; i < _v6Addresses.Length && slot < 0; i++)
        {
            if (_v6Addresses[i].State == Ipv6AddressState.Free)
            {
                slot = i;
            }
        }
        if (slot < 0)
        {
            _log.Warning(Source, $"no room for IPv6 address {address}; {MaxIpv6Addresses} are in use");
            return;
        }
        Span<byte> random = stackalloc byte[8];
        _entropy.Fill(random);
        // RFC 4862 §5.4.2: a random delay of up to a second before the first probe (MAX_RTR_SOLICITATION_DELAY).
        var delay = Duration.FromMicroseconds(BitConverter.ToUInt16(random) * 1_000_000L / 65536);
        _v6Addresses[slot] = new AddressEntry
        {
            Address = address,
            PrefixLength = prefixLength,
            State = Ipv6AddressState.Tentative,
            Autoconfigured = autoconfigured,
            PreferredUntil = preferredUntil,
            ValidUntil = validUntil,
            DadAt = now + delay,
            Nonce = BitConverter.ToUInt64(random) >> 16,
        };
        // RFC 4862 §5.4.2: join the solicited-node group (and say so) before probing.
        var group = address.SolicitedNode;
        if (!IsJoined(group.MulticastMac))
        {
            JoinMulticast(group.MulticastMac);
        }
        ScheduleMldReport(Mldv2Report.ChangeToExclude, now);
    }

    private void ScheduleMldReport(byte recordType, Instant now)
    {
        _mldRecordType = recordType;
        _mldReportsLeft = recordType == Mldv2Report.ChangeToExclude ? MldReportCount : 1;
        _mldAt = now;
    }

    private void UpdateOnLink(Ipv6Address prefix, int length, Instant until)
    {
        int free = -1;
        for (int i = 0; i < _onLink.Length; i++)
        {
            ref var p = ref _onLink[i];
            if (p.Until > Instant.Zero && p.Prefix == prefix && p.Length == length)
            {
                p.Until = until;
                return;
            }
            if (p.Until == Instant.Zero && free < 0)
            {
                free = i;
            }
        }
        if (free >= 0 && until > Instant.Zero)
        {
            _onLink[free] = new PrefixEntry { Prefix = prefix, Length = length, Until = until };
        }
    }

    private void UpdateRouter(Ipv6Address router, Instant until)
    {
        int free = -1;
        for (int i = 0; i < _routers.Length; i++)
        {
            ref var r = ref _routers[i];
            if (r.Until > Instant.Zero && r.Address == router)
            {
                r.Until = until;
                return;
            }
            if (r.Until == Instant.Zero && free < 0)
            {
                free = i;
            }
        }
        if (free >= 0 && until > Instant.Zero)
        {
            _routers[free] = new RouterEntry { Address = router, Until = until };
        }
    }

    private bool IsOnLink(Ipv6Address destination)
    {
        if (destination.IsLinkLocal)
        {
            return true;
        }
        foreach (var p in _onLink)
        {
            if (p.Until > Instant.Zero && destination.SharesPrefix(p.Prefix, p.Length))
            {
                return true;
            }
        }
        return false;
    }

    private bool TryDefaultRouter(out Ipv6Address router)
    {
        foreach (var r in _routers)
        {
            if (r.Until > Instant.Zero)
            {
                router = r.Address;
                return true;
            }
        }
        router = default;
        return false;
    }

    /// <summary>
    /// RFC 6724 §5, shortened: the destination itself when it is ours; link-local for link-local (and link-scope multicast)
    /// destinations; else a preferred address sharing the longest prefix, then any preferred global, then a deprecated
    /// one, then link-local.
    /// </summary>
    private bool TrySelectSource(Ipv6Address destination, out Ipv6Address source)
    {
        source = default;
        int best = -1;
        int bestScore = -1;
        bool linkScope = destination.IsLinkLocal || destination.IsLinkLocalMulticast;
        for (int i = 0; i < _v6Addresses.Length; i++)
        {
            ref readonly var e = ref _v6Addresses[i];
            if (e.State is not (Ipv6AddressState.Preferred or Ipv6AddressState.Deprecated))
            {
                continue;
            }
            if (e.Address == destination)
            {
                source = e.Address;
                return true;
            }
            int score;
            if (linkScope)
            {
                score = e.Address.IsLinkLocal ? 300 : 0;
            }
            else
            {
                score = e.Address.IsLinkLocal ? 1 : 100 + CommonPrefixLength(e.Address, destination);
                score += e.State == Ipv6AddressState.Preferred ? 200 : 0;
            }
            if (score > bestScore)
            {
                best = i;
                bestScore = score;
            }
        }
        if (best < 0)
        {
            return false;
        }
        source = _v6Addresses[best].Address;
        return true;
    }

    private static int CommonPrefixLength(Ipv6Address a, Ipv6Address b)
    {
        ulong high = a.High ^ b.High;
        return high != 0 ? System.Numerics.BitOperations.LeadingZeroCount(high) : 64 + System.Numerics.BitOperations.LeadingZeroCount(a.Low ^ b.Low);
    }

    /// <summary>True when a packet to <paramref name="destination"/> is for us: a usable address of ours, all-nodes, or one of our solicited-node groups.</summary>
    private bool IsOurIpv6Destination(Ipv6Address destination)
    {
        if (destination == Ipv6Address.AllNodes)
        {
            return true;
        }
        foreach (var e in _v6Addresses)
        {
            if (e.State is Ipv6AddressState.Free or Ipv6AddressState.Duplicate)
            {
                continue;
            }
            if (destination.IsMulticast ? destination == e.Address.SolicitedNode
                : destination == e.Address && e.State != Ipv6AddressState.Tentative)
            {
                return true;
            }
        }
        return false;
    }

    private void ProcessIpv6(Span<byte> packet, Instant now)
    {
        var error = Ipv6Repr.TryParse(packet, out var ip, out var payload);
        if (error != WireError.None)
        {
            Stats.Drop(DropReason.MalformedIpv6);
            return;
        }
        if (!IsOurIpv6Destination(ip.Destination))
        {
            Stats.Drop(DropReason.NotOurAddress);
            return;
        }
        var walk = Ipv6HeaderChain.TryWalk(payload, ip.NextHeader, out var chain, out byte code, out int pointer, out bool toMulticast);
        switch (walk)
        {
            case Ipv6ChainError.Truncated:
                Stats.Drop(DropReason.MalformedIpv6);
                return;
            case Ipv6ChainError.Discard:
                Stats.Drop(DropReason.Ipv6HeaderDiscarded);
                return;
            case Ipv6ChainError.ParameterProblem:
                Stats.Drop(DropReason.Ipv6HeaderDiscarded);
                if (!ip.Destination.IsMulticast || toMulticast)
                {
                    SendIcmpv6Error(Icmpv6Type.ParameterProblem, code, (uint)pointer, ip, packet, now);
                }
                return;
        }
        var upper = payload[chain.PayloadOffset..];
        if (chain.IsFragment)
        {
            var key = new ReassemblyBuffer.FragmentKey(ip.Source, ip.Destination, chain.FragmentId, chain.Protocol);
            switch (_reassembly6!.Add(key, chain.FragmentOffset, chain.MoreFragments, ip.HopLimit, upper, now))
            {
                case ReassemblyResult.Pending:
                    return;
                case ReassemblyResult.Duplicate:
                    Stats.Drop(DropReason.FragmentDuplicate);
                    return;
                case ReassemblyResult.Overlap:
                    // RFC 5722: overlapping fragments discard the whole datagram, silently.
                    Stats.Drop(DropReason.FragmentOverlap);
                    return;
                case ReassemblyResult.NoRoom:
                    Stats.Drop(DropReason.ReassemblyFull);
                    return;
            }
            upper = _reassembly6.TakeCompleted(out _, out _);
            Stats.DatagramsReassembled++;
            // The reassembled data may start with more extension headers (destination options after the fragment header).
            var rest = Ipv6HeaderChain.TryWalk(upper, chain.Protocol, out var inner, out _, out _, out _);
            if (rest != Ipv6ChainError.None || inner.IsFragment)
            {
                Stats.Drop(DropReason.Ipv6HeaderDiscarded);
                return;
            }
            upper = upper[inner.PayloadOffset..];
            chain = inner with { NextHeaderPointer = chain.NextHeaderPointer };
            ip = ip with { PayloadLength = upper.Length };
            // Errors quote the fragment that completed it, as far as it goes.
            packet = packet[..Math.Min(packet.Length, Ipv6Packet.HeaderLength + payload.Length)];
        }
        switch (chain.Protocol)
        {
            case IpProtocol.Icmpv6:
                ProcessIcmpv6(ip, upper, now);
                break;
            case IpProtocol.Udp:
                // No UDP socket listens on IPv6 yet: the port is unreachable (RFC 4443 §3.1 code 4).
                Stats.Drop(DropReason.NoSocket);
                if (!ip.Destination.IsMulticast)
                {
                    SendIcmpv6Error(Icmpv6Type.DestinationUnreachable, Icmpv6Repr.CodePortUnreachable, 0, ip, packet, now);
                }
                break;
            case IpProtocol.Tcp:
                // TCP over IPv6 is not built: a reset would be its answer, not an ICMPv6 error, so stay silent.
                Stats.Drop(DropReason.UnknownProtocol);
                break;
            default:
                Stats.Drop(DropReason.UnknownProtocol);
                if (!ip.Destination.IsMulticast)
                {
                    // RFC 8200 §4: an unrecognized next header is a parameter problem pointing at the field that named it.
                    SendIcmpv6Error(Icmpv6Type.ParameterProblem, Ipv6HeaderChain.CodeUnrecognizedNextHeader, (uint)chain.NextHeaderPointer, ip, packet, now);
                }
                break;
        }
    }

    private void ProcessIcmpv6(in Ipv6Repr ip, Span<byte> message, Instant now)
    {
        var error = Icmpv6Repr.TryParse(message, ip.Source, ip.Destination, out var icmp, out var data);
        if (error != WireError.None)
        {
            Stats.Drop(error == WireError.BadChecksum ? DropReason.Icmpv6BadChecksum : DropReason.MalformedIcmpv6);
            return;
        }
        switch (icmp.Type)
        {
            case Icmpv6Type.EchoRequest:
                // Linux answers pings to all-nodes too (echo_ignore_multicast is off by default), from its unicast address.
                if (ip.Source.IsUnspecified || !TrySelectSource(ip.Destination.IsMulticast ? ip.Source : ip.Destination, out var from))
                {
                    return;
                }
                var reply = icmp with { Type = Icmpv6Type.EchoReply, Code = 0 };
                reply.Emit(TransmitPayload, data, from, ip.Source);
                if (SendIpv6(ip.Source, IpProtocol.Icmpv6, reply.BufferLength, now, from))
                {
                    Stats.EchoRepliesSent++;
                }
                break;
            case Icmpv6Type.EchoReply:
                Stats.EchoRepliesReceived++;
                LastEchoReplyV6 = (icmp.Identifier, icmp.SequenceNumber, ip.Source);
                break;
            case Icmpv6Type.RouterSolicitation or Icmpv6Type.RouterAdvertisement
                or Icmpv6Type.NeighborSolicitation or Icmpv6Type.NeighborAdvertisement:
                var ndpError = NdpRepr.TryParse(ip, icmp, data, out var ndp, out var options);
                if (ndpError != WireError.None)
                {
                    Stats.Drop(DropReason.MalformedNdp);
                    return;
                }
                ProcessNdp(ip, ndp, options, now);
                break;
            case Icmpv6Type.PacketTooBig when icmp.Code == 0:
                OnPacketTooBig(icmp.Parameter, data, now);
                break;
            case Icmpv6Type.MulticastListenerQuery when ip.Source.IsLinkLocal:
                // RFC 3810 §6.2, shortened: answer at once with the current state of every group.
                ScheduleMldReport(Mldv2Report.ModeIsExclude, now);
                break;
            default:
                // Redirects are ignored (RFC 4861 §8.3 allows it); errors would go to the sockets that sent the packets.
                break;
        }
    }

    /// <summary>
    /// RFC 8201 §4: lower the path MTU to the destination of the packet quoted (one of ours, as its source says), never
    /// below 1280 (RFC 8021: a smaller value is not a reason to send atomic fragments), never above the link's.
    /// </summary>
    private void OnPacketTooBig(uint mtu, ReadOnlySpan<byte> quote, Instant now)
    {
        if (quote.Length < Ipv6Packet.HeaderLength || quote[0] >> 4 != 6)
        {
            return;
        }
        var source = Ipv6Address.Read(quote[8..]);
        var destination = Ipv6Address.Read(quote[24..]);
        int i = FindAddress(source);
        if (i < 0 || _v6Addresses[i].State is not (Ipv6AddressState.Preferred or Ipv6AddressState.Deprecated) || destination.IsMulticast)
        {
            return;
        }
        int value = (int)Math.Clamp(mtu, Ipv6Packet.MinimumMtu, (uint)_v6Mtu);
        int slot = 0;
        for (int k = 0; k < _pathMtus.Length; k++)
        {
            if (_pathMtus[k].Until > now && _pathMtus[k].Destination == destination)
            {
                slot = k;
                break;
            }
            if (_pathMtus[k].Until < _pathMtus[slot].Until)
            {
                slot = k;
            }
        }
        if (_pathMtus[slot].Until > now && _pathMtus[slot].Destination == destination && _pathMtus[slot].Mtu <= value)
        {
            return;
        }
        _pathMtus[slot] = new PathMtuEntry { Destination = destination, Mtu = value, Until = now + s_pathMtuLifetime };
        _log.Debug(Source, $"path MTU to {destination} is {value}");
    }

    /// <summary>The MTU for packets to <paramref name="destination"/>: the link's, or less when a packet too big said so.</summary>
    private int PathMtu(Ipv6Address destination, Instant now)
    {
        foreach (var entry in _pathMtus)
        {
            if (entry.Until > now && entry.Destination == destination)
            {
                return entry.Mtu;
            }
        }
        return _v6Mtu;
    }

    private void ProcessNdp(in Ipv6Repr ip, in NdpRepr ndp, ReadOnlySpan<byte> options, Instant now)
    {
        var neighbors = _neighbors!;
        switch (ndp.Type)
        {
            case Icmpv6Type.NeighborSolicitation:
            {
                int i = FindAddress(ndp.Target);
                if (i < 0)
                {
                    return;
                }
                ref var entry = ref _v6Addresses[i];
                if (entry.State == Ipv6AddressState.Duplicate)
                {
                    return;
                }
                if (entry.State == Ipv6AddressState.Tentative)
                {
                    // RFC 4862 §5.4.3: another node probes for our tentative address (unless it is our own probe looped back, RFC 7527).
                    if (ip.Source.IsUnspecified && ndp.Nonce != entry.Nonce)
                    {
                        OnDuplicateAddress(i);
                    }
                    return;
                }
                if (ip.Source.IsUnspecified)
                {
                    // RFC 4861 §7.2.4: defend the address: advertise to all nodes, not solicited.
                    SendNeighborAdvertisement(ndp.Target, Ipv6Address.AllNodes, solicited: false, now);
                    return;
                }
                if (ndp.SourceLinkLayer is { } mac)
                {
                    neighbors.LearnFromSolicitation(ip.Source, mac, now);
                    FlushNeighbor(ip.Source);
                }
                SendNeighborAdvertisement(ndp.Target, ip.Source, solicited: true, now);
                break;
            }
            case Icmpv6Type.NeighborAdvertisement:
            {
                int i = FindAddress(ndp.Target);
                if (i >= 0)
                {
                    if (_v6Addresses[i].State == Ipv6AddressState.Duplicate)
                    {
                        return;
                    }
                    if (_v6Addresses[i].State == Ipv6AddressState.Tentative)
                    {
                        OnDuplicateAddress(i);
                    }
                    else if (ndp.TargetLinkLayer != _mac)
                    {
                        Stats.AddressConflicts++;
                        _log.Warning(Source, $"{ndp.TargetLinkLayer} also claims {ndp.Target}");
                    }
                    return;
                }
                if (neighbors.LearnFromAdvertisement(ndp.Target, ndp.TargetLinkLayer, ndp.Solicited, ndp.Override, ndp.Router, now))
                {
                    FlushNeighbor(ndp.Target);
                }
                break;
            }
            case Icmpv6Type.RouterAdvertisement:
                ProcessRouterAdvertisement(ip, ndp, options, now);
                break;
        }
    }

    private void ProcessRouterAdvertisement(in Ipv6Repr ip, in NdpRepr ra, ReadOnlySpan<byte> options, Instant now)
    {
        Stats.RouterAdvertisementsReceived++;
        if (ra.SourceLinkLayer is { } mac)
        {
            _neighbors!.LearnFromSolicitation(ip.Source, mac, now, isRouter: true);
            FlushNeighbor(ip.Source);
        }
        if (ra.CurHopLimit != 0)
        {
            _v6HopLimit = ra.CurHopLimit;
        }
        if (ra.ReachableTime is > 0 and <= 3_600_000)
        {
            _neighbors!.ReachableTime = Duration.FromMilliseconds(ra.ReachableTime);
        }
        if (ra.Mtu is { } mtu && mtu >= Ipv6Packet.MinimumMtu && mtu <= _mtu)
        {
            _v6Mtu = (int)mtu;
        }
        UpdateRouter(ip.Source, ra.RouterLifetime == 0 ? Instant.Zero : now + Duration.FromSeconds(ra.RouterLifetime));
        var reader = new NdpOptionReader(options);
        while (reader.TryNext(out var type, out var data))
        {
            if (type != NdpOptionType.PrefixInformation || !NdpPrefixInformation.TryRead(data, out var prefix) || prefix.Prefix.IsLinkLocal)
            {
                continue;
            }
            var network = prefix.Prefix.Prefix(prefix.PrefixLength);
            if (prefix.OnLink)
            {
                UpdateOnLink(network, prefix.PrefixLength, prefix.ValidLifetime == 0 ? Instant.Zero : Until(now, prefix.ValidLifetime));
            }
            // RFC 4862 §5.5.3: (a) autonomous, (b) not link-local, (c) preferred <= valid; our identifiers are 64 bits.
            if (_autoconf && prefix.Autonomous && prefix.PreferredLifetime <= prefix.ValidLifetime && prefix.PrefixLength == 64)
            {
                Autoconfigure(network, prefix, now);
            }
        }
        if (_routerSolicitationAt != Instant.Never)
        {
            _routerSolicitationAt = Instant.Never;
        }
    }

    private static Instant Until(Instant now, uint seconds) =>
        seconds == NdpPrefixInformation.Infinite ? Instant.Never : now + Duration.FromSeconds(seconds);

    private void Autoconfigure(Ipv6Address network, in NdpPrefixInformation prefix, Instant now)
    {
        var address = new Ipv6Address(network.High, InterfaceIdentifier(network));
        int i = FindAddress(address);
        if (i < 0)
        {
            if (prefix.ValidLifetime != 0)
            {
                AddAddress(address, 64, autoconfigured: true, Until(now, prefix.PreferredLifetime), Until(now, prefix.ValidLifetime), now);
            }
            return;
        }
        ref var e = ref _v6Addresses[i];
        if (!e.Autoconfigured || e.State == Ipv6AddressState.Duplicate)
        {
            return;
        }
        e.PreferredUntil = Until(now, prefix.PreferredLifetime);
        if (e.State == Ipv6AddressState.Deprecated && prefix.PreferredLifetime > 0)
        {
            e.State = Ipv6AddressState.Preferred;
        }
        // RFC 4862 §5.5.3 (e): the two-hour rule against a forged short lifetime.
        var received = Until(now, prefix.ValidLifetime);
        var remaining = e.ValidUntil - now;
        if (received > now + s_twoHours || received > e.ValidUntil)
        {
            e.ValidUntil = received;
        }
        else if (remaining > s_twoHours)
        {
            e.ValidUntil = now + s_twoHours;
        }
    }

    private void OnDuplicateAddress(int i)
    {
        ref var e = ref _v6Addresses[i];
        Stats.DuplicateAddresses++;
        // RFC 4862 §5.4.5: the address is not used (and kept as duplicate so it is not tried again).
        _log.Error(Source, $"{e.Address} is already in use on {_device.Name}; not using it");
        e.State = Ipv6AddressState.Duplicate;
        e.DadAt = Instant.Never;
        if (e.Address.IsLinkLocal)
        {
            // A duplicate link-local address from the MAC means the MAC is duplicate too: no autoconfiguration on this link.
            _autoconf = false;
            _routerSolicitationAt = Instant.Never;
            for (int k = 0; k < _v6Addresses.Length; k++)
            {
                if (k != i && _v6Addresses[k].Autoconfigured && _v6Addresses[k].State != Ipv6AddressState.Free)
                {
                    _v6Addresses[k] = default;
                }
            }
        }
    }

    private void SendNeighborAdvertisement(Ipv6Address target, Ipv6Address destination, bool solicited, Instant now)
    {
        var na = new NdpRepr(Icmpv6Type.NeighborAdvertisement, target, TargetLinkLayer: _mac, Solicited: solicited, Override: true);
        na.Emit(TransmitPayload, target, destination);
        if (SendIpv6(destination, IpProtocol.Icmpv6, na.BufferLength, now, target, NdpRepr.HopLimit))
        {
            Stats.NeighborAdvertisementsSent++;
        }
    }

    private void SendNeighborSolicitation(Ipv6Address target, MacAddress? unicast, Instant now)
    {
        var destination = unicast is null ? target.SolicitedNode : target;
        if (!TrySelectSource(target, out var source))
        {
            return;
        }
        var ns = new NdpRepr(Icmpv6Type.NeighborSolicitation, target, SourceLinkLayer: _mac);
        ns.Emit(TransmitPayload, source, destination);
        var header = new Ipv6Repr(source, destination, IpProtocol.Icmpv6, ns.BufferLength, NdpRepr.HopLimit);
        var mac = unicast ?? destination.MulticastMac;
        if (TransmitIpv6(mac, header, routerAlert: false, TransmitPayload[..ns.BufferLength]))
        {
            Stats.NeighborSolicitationsSent++;
        }
    }

    /// <summary>Sends an ICMPv6 echo request (ping) with <paramref name="data"/>.</summary>
    public bool SendEchoRequest(Ipv6Address destination, ushort identifier, ushort sequence, ReadOnlySpan<byte> data, Instant now)
    {
        if (!_ipv6 || !TrySelectSource(destination, out var source))
        {
            Stats.Drop(DropReason.NoRoute);
            return false;
        }
        var icmp = Icmpv6Repr.Echo(Icmpv6Type.EchoRequest, identifier, sequence, data.Length);
        icmp.Emit(TransmitPayload, data, source, destination);
        return SendIpv6(destination, IpProtocol.Icmpv6, icmp.BufferLength, now, source);
    }

    /// <summary>
    /// Sends an ICMPv6 error about <paramref name="offending"/> (RFC 4443 §2.4): never about an ICMPv6 error, never to an
    /// unspecified or multicast source, quoting as much of the packet as fits in 1280 bytes, rate limited.
    /// </summary>
    private void SendIcmpv6Error(Icmpv6Type type, byte code, uint parameter, in Ipv6Repr ip, ReadOnlySpan<byte> offending, Instant now)
    {
        if (ip.Source.IsUnspecified || ip.Source.IsMulticast)
        {
            return;
        }
        var chain = Ipv6HeaderChain.TryWalk(offending[Ipv6Packet.HeaderLength..], ip.NextHeader, out var walked, out _, out _, out _);
        if (chain == Ipv6ChainError.None && walked.Protocol == IpProtocol.Icmpv6 && !walked.IsFragment)
        {
            var upper = offending[(Ipv6Packet.HeaderLength + walked.PayloadOffset)..];
            if (upper.Length > 0 && upper[0] < 128)
            {
                return;
            }
        }
        if (!TrySelectSource(ip.Destination.IsMulticast ? ip.Source : ip.Destination, out var source))
        {
            return;
        }
        if (!_icmpErrors.TryTake(now))
        {
            Stats.Drop(DropReason.IcmpRateLimited);
            return;
        }
        int quoted = Math.Min(offending.Length, Icmpv6Repr.MaxErrorLength - Icmpv6Packet.HeaderLength);
        var icmp = new Icmpv6Repr(type, code, parameter, quoted);
        icmp.Emit(TransmitPayload, offending, source, ip.Source);
        if (SendIpv6(ip.Source, IpProtocol.Icmpv6, icmp.BufferLength, now, source))
        {
            Stats.IcmpUnreachableSent++;
        }
    }

    /// <summary>
    /// Sends the <paramref name="payloadLength"/> bytes at <see cref="TransmitPayload"/> as one IPv6 packet from
    /// <paramref name="source"/> (chosen by <see cref="TrySelectSource"/> when null), resolving the next hop through the
    /// neighbour cache. A packet waiting for resolution counts as sent.
    /// </summary>
    internal bool SendIpv6(Ipv6Address destination, IpProtocol protocol, int payloadLength, Instant now, Ipv6Address? source = null,
        byte? hopLimit = null, bool routerAlert = false)
    {
        if (!_ipv6)
        {
            Stats.Drop(DropReason.NoRoute);
            return false;
        }
        Ipv6Address from;
        if (source is { } given)
        {
            from = given;
        }
        else if (!TrySelectSource(destination, out from))
        {
            Stats.Drop(DropReason.NoRoute);
            return false;
        }
        int extension = routerAlert ? Mldv2Report.RouterAlertHeaderLength : 0;
        var header = new Ipv6Repr(from, destination, routerAlert ? IpProtocol.Ipv6HopByHop : protocol, extension + payloadLength,
            hopLimit ?? (destination.IsMulticast ? (byte)1 : _v6HopLimit));
        var payload = TransmitPayload[..payloadLength];
        int mtu = PathMtu(destination, now);
        bool fragment = header.BufferLength > mtu;
        if (fragment && routerAlert)
        {
            Stats.Drop(DropReason.FragmentationNeeded);
            return false;
        }
        if (destination.IsMulticast)
        {
            return fragment ? TransmitFragments(destination.MulticastMac, header, payload, mtu)
                : TransmitIpv6(destination.MulticastMac, header, routerAlert, payload);
        }
        Ipv6Address nextHop;
        if (IsOnLink(destination))
        {
            nextHop = destination;
        }
        else if (!TryDefaultRouter(out nextHop))
        {
            Stats.Drop(DropReason.NoRoute);
            return false;
        }
        if (_neighbors!.TryLookup(nextHop, now, out var mac))
        {
            return fragment ? TransmitFragments(mac, header, payload, mtu) : TransmitIpv6(mac, header, routerAlert, payload);
        }
        if (fragment)
        {
            // Only one packet of up to the MTU waits for a resolution: start it, and let the sender's retry go through.
            if (_neighbors.StartResolving(nextHop, [], now))
            {
                PollNeighbors(now);
            }
            Stats.Drop(DropReason.NeighborUnresolved);
            return false;
        }
        // Keep the whole packet with the resolution; it goes out when the advertisement comes.
        var packet = _v6Scratch.AsSpan(0, header.BufferLength);
        payload.CopyTo(packet[(Ipv6Repr.HeaderLength + extension)..]);
        if (routerAlert)
        {
            Mldv2Report.EmitRouterAlertHeader(packet[Ipv6Repr.HeaderLength..]);
        }
        header.Emit(packet);
        if (_neighbors.StartResolving(nextHop, packet, now))
        {
            PollNeighbors(now);
        }
        return true;
    }

    /// <summary>
    /// Sends a packet over the MTU as fragments (RFC 8200 §4.5): each an IPv6 header, a fragment header and a multiple of
    /// 8 bytes of the payload (the last, the rest); the unfragmentable part is the IPv6 header alone.
    /// </summary>
    private bool TransmitFragments(MacAddress mac, in Ipv6Repr header, ReadOnlySpan<byte> payload, int mtu)
    {
        int chunk = (mtu - Ipv6Repr.HeaderLength - Ipv6HeaderChain.FragmentHeaderLength) & ~7;
        uint id = _nextFragmentId++;
        var ethernet = new EthernetRepr(mac, _mac, EtherType.Ipv6);
        for (int offset = 0; offset < payload.Length; offset += chunk)
        {
            int length = Math.Min(chunk, payload.Length - offset);
            var fragmentHeader = new Ipv6Repr(header.Source, header.Destination, IpProtocol.Ipv6Fragment,
                Ipv6HeaderChain.FragmentHeaderLength + length, header.HopLimit);
            var builder = new Ipv6FragmentFrameBuilder(ethernet, fragmentHeader, header.NextHeader, offset, offset + length < payload.Length, id,
                payload.Slice(offset, length));
            if (!_device.TryTransmit(EthernetFrame.HeaderLength + fragmentHeader.BufferLength, ref builder))
            {
                Stats.Drop(DropReason.DeviceBusy);
                return false;
            }
            Stats.FramesTransmitted++;
            Stats.FragmentsSent++;
        }
        return true;
    }

    private bool TransmitIpv6(MacAddress mac, in Ipv6Repr header, bool routerAlert, ReadOnlySpan<byte> payload)
    {
        var builder = new Ipv6FrameBuilder(new EthernetRepr(mac, _mac, EtherType.Ipv6), header, routerAlert, payload);
        if (!_device.TryTransmit(EthernetFrame.HeaderLength + header.BufferLength, ref builder))
        {
            Stats.Drop(DropReason.DeviceBusy);
            return false;
        }
        Stats.FramesTransmitted++;
        return true;
    }

    private void FlushNeighbor(Ipv6Address neighbor)
    {
        if (_neighbors!.TryTakePending(neighbor, out var mac, out byte[] packet, out int length))
        {
            var builder = new RawIpv6FrameBuilder(new EthernetRepr(mac, _mac, EtherType.Ipv6), packet.AsSpan(0, length));
            if (_device.TryTransmit(EthernetFrame.HeaderLength + length, ref builder))
            {
                Stats.FramesTransmitted++;
            }
            else
            {
                Stats.Drop(DropReason.DeviceBusy);
            }
            NeighborCache.ReleasePending(packet);
        }
    }

    private void PollNeighbors(Instant now)
    {
        while (_neighbors!.TryNextAction(now, out var target, out var unicast, out bool failed))
        {
            if (failed)
            {
                Stats.Drop(DropReason.NeighborUnresolved);
                continue;
            }
            SendNeighborSolicitation(target, unicast, now);
        }
    }

    private void PollIpv6(Instant now)
    {
        if (!_ipv6)
        {
            return;
        }
        if (now >= _mldAt)
        {
            SendMldReport(now);
        }
        for (int i = 0; i < _v6Addresses.Length; i++)
        {
            ref var e = ref _v6Addresses[i];
            switch (e.State)
            {
                case Ipv6AddressState.Free:
                    continue;
                case Ipv6AddressState.Tentative when now >= e.DadAt:
                    if (!e.DadProbeSent)
                    {
                        // RFC 4862 §5.4.2: from the unspecified address to the solicited-node group, with a nonce (RFC 7527).
                        var probe = new NdpRepr(Icmpv6Type.NeighborSolicitation, e.Address, Nonce: e.Nonce);
                        var group = e.Address.SolicitedNode;
                        probe.Emit(TransmitPayload, Ipv6Address.Any, group);
                        TransmitIpv6(group.MulticastMac, new Ipv6Repr(Ipv6Address.Any, group, IpProtocol.Icmpv6, probe.BufferLength, NdpRepr.HopLimit),
                            routerAlert: false, TransmitPayload[..probe.BufferLength]);
                        Stats.NeighborSolicitationsSent++;
                        e.DadProbeSent = true;
                        e.DadAt = now + NeighborCache.RetransmitInterval;
                    }
                    else
                    {
                        e.State = now >= e.PreferredUntil ? Ipv6AddressState.Deprecated : Ipv6AddressState.Preferred;
                        e.DadAt = Instant.Never;
                        _log.Info(Source, $"{_device.Name} {_mac} has {e.Address}/{e.PrefixLength}{(e.Autoconfigured && !e.Address.IsLinkLocal ? " (SLAAC)" : "")}");
                        Ipv6AddressChanged?.Invoke(new Ipv6Cidr(e.Address, e.PrefixLength), true);
                        if (e.Address.IsLinkLocal)
                        {
                            // RFC 3810 §5.2.13: reports come from the link-local address once there is one; then ask for routers.
                            ScheduleMldReport(Mldv2Report.ChangeToExclude, now);
                            if (_autoconf)
                            {
                                _routerSolicitationsSent = 0;
                                _routerSolicitationAt = now;
                            }
                        }
                    }
                    break;
                case Ipv6AddressState.Duplicate when now >= e.ValidUntil:
                    e = default;
                    break;
                case Ipv6AddressState.Preferred or Ipv6AddressState.Deprecated when now >= e.ValidUntil:
                    _log.Info(Source, $"{e.Address} expired on {_device.Name}");
                    Ipv6AddressChanged?.Invoke(new Ipv6Cidr(e.Address, e.PrefixLength), false);
                    e = default;
                    break;
                case Ipv6AddressState.Preferred when now >= e.PreferredUntil:
                    e.State = Ipv6AddressState.Deprecated;
                    break;
            }
        }
        for (int i = 0; i < _routers.Length; i++)
        {
            if (_routers[i].Until > Instant.Zero && now >= _routers[i].Until)
            {
                _routers[i] = default;
            }
        }
        for (int i = 0; i < _onLink.Length; i++)
        {
            if (_onLink[i].Until > Instant.Zero && now >= _onLink[i].Until)
            {
                _onLink[i] = default;
            }
        }
        if (now >= _routerSolicitationAt)
        {
            SendRouterSolicitation(now);
        }
        PollNeighbors(now);
        int expired = _reassembly6!.Expire(now);
        for (int i = 0; i < expired; i++)
        {
            Stats.Drop(DropReason.ReassemblyTimeout);
        }
    }

    private void SendRouterSolicitation(Instant now)
    {
        if (LinkLocalAddress is not { } source || Ipv6StateOf(source) != Ipv6AddressState.Preferred)
        {
            _routerSolicitationAt = Instant.Never;
            return;
        }
        var rs = new NdpRepr(Icmpv6Type.RouterSolicitation, SourceLinkLayer: _mac);
        rs.Emit(TransmitPayload, source, Ipv6Address.AllRouters);
        if (SendIpv6(Ipv6Address.AllRouters, IpProtocol.Icmpv6, rs.BufferLength, now, source, NdpRepr.HopLimit))
        {
            Stats.RouterSolicitationsSent++;
        }
        _routerSolicitationsSent++;
        _routerSolicitationAt = _routerSolicitationsSent < MaxRouterSolicitations ? now + s_routerSolicitationInterval : Instant.Never;
    }

    private void SendMldReport(Instant now)
    {
        int count = 0;
        foreach (var e in _v6Addresses)
        {
            if (e.State is Ipv6AddressState.Free or Ipv6AddressState.Duplicate)
            {
                continue;
            }
            var group = e.Address.SolicitedNode;
            if (_mldGroups.AsSpan(0, count).IndexOf(group) < 0)
            {
                _mldGroups[count++] = group;
            }
        }
        var linkLocal = LinkLocalAddress;
        var source = linkLocal is { } ll && Ipv6StateOf(ll) != Ipv6AddressState.Tentative ? ll : Ipv6Address.Any;
        if (count > 0)
        {
            Mldv2Report.Emit(TransmitPayload, _mldGroups.AsSpan(0, count), _mldRecordType, source, Ipv6Address.AllMldv2Routers);
            SendIpv6(Ipv6Address.AllMldv2Routers, IpProtocol.Icmpv6, Mldv2Report.BufferLength(count), now, source, hopLimit: 1, routerAlert: true);
        }
        _mldReportsLeft--;
        _mldAt = _mldReportsLeft > 0 ? now + s_mldReportInterval : Instant.Never;
    }

    private Instant PollAtIpv6()
    {
        if (!_ipv6)
        {
            return Instant.Never;
        }
        var at = Instant.Min(_neighbors!.PollAt(), Instant.Min(_mldAt, _routerSolicitationAt));
        at = Instant.Min(at, _reassembly6!.PollAt());
        foreach (var e in _v6Addresses)
        {
            switch (e.State)
            {
                case Ipv6AddressState.Tentative:
                    at = Instant.Min(at, e.DadAt);
                    break;
                case Ipv6AddressState.Preferred:
                    at = Instant.Min(at, Instant.Min(e.PreferredUntil, e.ValidUntil));
                    break;
                case Ipv6AddressState.Deprecated or Ipv6AddressState.Duplicate:
                    at = Instant.Min(at, e.ValidUntil);
                    break;
            }
        }
        foreach (var r in _routers)
        {
            if (r.Until > Instant.Zero)
            {
                at = Instant.Min(at, r.Until);
            }
        }
        foreach (var p in _onLink)
        {
            if (p.Until > Instant.Zero)
            {
                at = Instant.Min(at, p.Until);
            }
        }
        return at;
    }

    private readonly ref struct Ipv6FrameBuilder(EthernetRepr ethernet, Ipv6Repr header, bool routerAlert, ReadOnlySpan<byte> payload) : IFrameBuilder
    {
        private readonly ReadOnlySpan<byte> _payload = payload;

        public void Build(Span<byte> frame)
        {
            ethernet.Emit(frame);
            var ip = frame[EthernetFrame.HeaderLength..];
            int at = Ipv6Repr.HeaderLength;
            if (routerAlert)
            {
                Mldv2Report.EmitRouterAlertHeader(ip[at..]);
                at += Mldv2Report.RouterAlertHeaderLength;
            }
            _payload.CopyTo(ip[at..]);
            header.Emit(ip);
        }
    }

    private readonly ref struct Ipv6FragmentFrameBuilder(EthernetRepr ethernet, Ipv6Repr header, IpProtocol next, int offset, bool more, uint id,
        ReadOnlySpan<byte> data) : IFrameBuilder
    {
        private readonly ReadOnlySpan<byte> _data = data;

        public void Build(Span<byte> frame)
        {
            ethernet.Emit(frame);
            var ip = frame[EthernetFrame.HeaderLength..];
            header.Emit(ip);
            Ipv6HeaderChain.EmitFragmentHeader(ip[Ipv6Repr.HeaderLength..], next, offset, more, id);
            _data.CopyTo(ip[(Ipv6Repr.HeaderLength + Ipv6HeaderChain.FragmentHeaderLength)..]);
        }
    }

    private readonly ref struct RawIpv6FrameBuilder(EthernetRepr ethernet, ReadOnlySpan<byte> packet) : IFrameBuilder
    {
        private readonly ReadOnlySpan<byte> _packet = packet;

        public void Build(Span<byte> frame)
        {
            ethernet.Emit(frame);
            _packet.CopyTo(frame[EthernetFrame.HeaderLength..]);
        }
    }
}
