using Unisharp.Devices;
using Unisharp.Net.Ip;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Iface;

internal sealed partial class NetworkInterface
{
    /// <summary>The transmit scratch area for an IP payload; fill it, then call <see cref="SendIp"/> with its length.</summary>
    internal Span<byte> TransmitPayload => _tx.AsSpan(Headroom);

    private void ProcessIpv4(Span<byte> packet, bool checksumTrusted, Instant now)
    {
        var error = Ipv4Repr.TryParse(packet, out var ip, out var payload);
        if (error != WireError.None)
        {
            Stats.Drop(error == WireError.BadChecksum ? DropReason.Ipv4BadChecksum : DropReason.MalformedIpv4);
            return;
        }
        var address = _address;
        bool forUs = ip.Destination.IsBroadcast || (address is not null && (ip.Destination == address.Address || address.IsBroadcast(ip.Destination)));
        // Before DHCP has bound (and while it renews), the server may unicast to the offered address.
        bool dhcpOnly = !forUs && _dhcp is not null && ip.Protocol == IpProtocol.Udp;
        if (!forUs && !dhcpOnly)
        {
            Stats.Drop(DropReason.NotOurAddress);
            return;
        }
        if (ip.IsFragment)
        {
            switch (_reassembly.Add(ip, payload, now))
            {
                case ReassemblyResult.Pending:
                    return;
                case ReassemblyResult.Duplicate:
                    Stats.Drop(DropReason.FragmentDuplicate);
                    return;
                case ReassemblyResult.Overlap:
                    Stats.Drop(DropReason.FragmentOverlap);
                    return;
                case ReassemblyResult.NoRoom:
                    Stats.Drop(DropReason.ReassemblyFull);
                    return;
            }
            payload = _reassembly.TakeCompleted(out ip);
            Stats.DatagramsReassembled++;
            checksumTrusted = false;
        }
        switch (ip.Protocol)
        {
            case IpProtocol.Udp:
                ProcessUdp(ip, payload, dhcpOnly, checksumTrusted, now);
                break;
            case IpProtocol.Icmp when !dhcpOnly:
                ProcessIcmp(ip, payload, now);
                break;
            case IpProtocol.Tcp when _tcp is not null && !dhcpOnly:
                _tcp.Process(ip, payload, checksumTrusted, now);
                break;
            case IpProtocol.Tcp:
                // TCP is not built yet; a reset is its answer, not an ICMP error, so stay silent.
                Stats.Drop(DropReason.UnknownProtocol);
                break;
            default:
                Stats.Drop(DropReason.UnknownProtocol);
                if (!dhcpOnly)
                {
                    // RFC 1122 §3.2.2.1: a host SHOULD say the protocol is unreachable.
                    SendIcmpUnreachable(Icmpv4Repr.CodeProtocolUnreachable, ip, payload, now);
                }
                break;
        }
    }

    /// <summary>
    /// Sends the <paramref name="payloadLength"/> bytes at <see cref="TransmitPayload"/> as one IPv4 datagram
    /// from our address (or <paramref name="source"/>), fragmenting it when it is over the MTU unless
    /// <paramref name="dontFragment"/>. Returns false when it was dropped (the reason is counted);
    /// a datagram queued for ARP counts as sent.
    /// </summary>
    /// <param name="checksumOffset">
    /// With <see cref="ChecksumOffload"/>: where the transport checksum field is in the payload, which holds only the
    /// pseudo-header sum for the device to complete; -1 when the payload is complete.
    /// </param>
    /// <param name="segmentSize">With <see cref="MaxOffloadSegment"/>: the device cuts this TCP payload into segments of this much data.</param>
    internal bool SendIp(Ipv4Address destination, IpProtocol protocol, int payloadLength, Instant now,
        bool dontFragment = false, Ipv4Address? source = null, int checksumOffset = -1, int segmentSize = 0)
    {
        var address = _address;
        var from = source ?? address?.Address ?? Ipv4Address.Any;
        var header = new Ipv4Repr(from, destination, protocol, payloadLength, Ipv4Repr.DefaultTtl, _nextIpId++, dontFragment);
        var payload = _tx.AsSpan(Headroom, payloadLength);
        var offload = checksumOffset < 0 ? default : new FrameOffload
        {
            Checksum = FrameChecksum.Partial,
            ChecksumStart = EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength,
            ChecksumOffset = (ushort)checksumOffset,
            SegmentSize = (ushort)segmentSize,
        };
        MacAddress mac;
        if (destination.IsBroadcast || (address is not null && address.IsBroadcast(destination)))
        {
            mac = MacAddress.Broadcast;
        }
        else if (destination.IsMulticast)
        {
            // RFC 1112 §6.4: 01:00:5e followed by the low 23 bits of the group address.
            mac = new MacAddress(0x01005E000000UL | (destination.Value & 0x7FFFFF));
        }
        else
        {
            if (address is null)
            {
                Stats.Drop(DropReason.NoRoute);
                return false;
            }
            Ipv4Address nextHop;
            if (address.Cidr.Contains(destination))
            {
                nextHop = destination;
            }
            else if (address.Gateway is { } gateway)
            {
                nextHop = gateway;
            }
            else
            {
                Stats.Drop(DropReason.NoRoute);
                return false;
            }
            if (!_arp.TryLookup(nextHop, now, out mac))
            {
                // The queue keeps plain datagrams: finish the checksum here; a large segment waits for a retransmission.
                if (!offload.IsNone && !CompleteInSoftware(payload, offload))
                {
                    return false;
                }
                if (!_arpPending.TryEnqueue(nextHop, header, payload))
                {
                    Stats.Drop(DropReason.ArpQueueFull);
                    return false;
                }
                if (!_arp.IsResolving(nextHop))
                {
                    _arp.StartResolving(nextHop, now);
                    PollArp(now);
                }
                return true;
            }
        }
        return TransmitIp(mac, header, payload, offload);
    }

    /// <summary>Does the device's part for a datagram that cannot go out with offload: false when it is over the MTU.</summary>
    private bool CompleteInSoftware(Span<byte> payload, in FrameOffload offload)
    {
        if (payload.Length > _mtu - Ipv4Repr.HeaderLength)
        {
            Stats.Drop(DropReason.FragmentationNeeded);
            return false;
        }
        // The field holds the pseudo-header sum: the sum over the whole payload, complemented, is the checksum.
        var field = payload.Slice(offload.ChecksumOffset, 2);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(field, InternetChecksum.Finish(InternetChecksum.Sum(payload)));
        return true;
    }

    /// <summary>
    /// True when a datagram to <paramref name="destination"/> would have to wait for ARP and the queue for its
    /// next hop is full (a resolution is under way: an ARP reply or the retry timer will poll again).
    /// </summary>
    private bool IsWaitingForArp(Ipv4Address destination, Instant now)
    {
        var address = _address;
        if (address is null || destination.IsBroadcast || destination.IsMulticast || address.IsBroadcast(destination))
        {
            return false;
        }
        Ipv4Address nextHop;
        if (address.Cidr.Contains(destination))
        {
            nextHop = destination;
        }
        else if (address.Gateway is { } gateway)
        {
            nextHop = gateway;
        }
        else
        {
            return false;
        }
        return _arp.IsResolving(nextHop) && !_arpPending.HasRoom(nextHop);
    }

    /// <summary>Frames the datagram for <paramref name="mac"/>, in fragments when it is over the MTU (RFC 791 §3.2).</summary>
    private bool TransmitIp(MacAddress mac, in Ipv4Repr header, ReadOnlySpan<byte> payload, in FrameOffload offload = default)
    {
        var ethernet = new EthernetRepr(mac, _mac, EtherType.Ipv4);
        int maxPayload = _mtu - Ipv4Repr.HeaderLength;
        if (payload.Length <= maxPayload || offload.SegmentSize > 0)
        {
            // A large TCP segment is the device's to cut (segmentation offload), never fragmented.
            return TransmitFrame(ethernet, header with { PayloadLength = payload.Length }, payload, offload);
        }
        if (header.DontFragment)
        {
            Stats.Drop(DropReason.FragmentationNeeded);
            return false;
        }
        // Every fragment but the last carries a multiple of 8 bytes.
        int chunk = maxPayload & ~7;
        for (int offset = 0; offset < payload.Length; offset += chunk)
        {
            int length = Math.Min(chunk, payload.Length - offset);
            var fragment = header with
            {
                PayloadLength = length,
                MoreFragments = offset + length < payload.Length,
                FragmentOffset = offset,
            };
            if (!TransmitFrame(ethernet, fragment, payload.Slice(offset, length)))
            {
                return false;
            }
            Stats.FragmentsSent++;
        }
        return true;
    }

    private bool TransmitFrame(in EthernetRepr ethernet, in Ipv4Repr header, ReadOnlySpan<byte> payload, in FrameOffload offload = default)
    {
        var builder = new Ipv4FrameBuilder(ethernet, header, payload);
        int length = EthernetFrame.HeaderLength + header.BufferLength;
        bool taken = offload.IsNone ? _device.TryTransmit(length, ref builder) : _device.TryTransmit(length, offload, ref builder);
        if (!taken)
        {
            Stats.Drop(DropReason.DeviceBusy);
            return false;
        }
        Stats.FramesTransmitted++;
        return true;
    }

    private void ConfigureAddress(Ipv4Cidr cidr, Ipv4Address? gateway, Instant now)
    {
        var previous = _address;
        if (previous is not null && previous.Cidr == cidr && previous.Gateway == gateway)
        {
            return;
        }
        var configured = new InterfaceAddress(cidr, gateway);
        _address = configured;
        _log.Info(Source, $"{_device.Name} {_mac} has {cidr}{(gateway is { } g ? $", gateway {g}" : "")}");
        if (previous is null || previous.Address != cidr.Address)
        {
            StartConflictDetection(now);
        }
        AddressChanged?.Invoke(configured);
    }

    private void Deconfigure()
    {
        if (_address is null)
        {
            return;
        }
        _address = null;
        _conflictStep = -1;
        _conflictAt = Instant.Never;
        int dropped = _arpPending.Clear();
        for (int i = 0; i < dropped; i++)
        {
            Stats.Drop(DropReason.NoRoute);
        }
        _arp.Clear();
        _log.Info(Source, $"{_device.Name} has no address");
        AddressChanged?.Invoke(null);
    }

    private readonly ref struct Ipv4FrameBuilder(EthernetRepr ethernet, Ipv4Repr header, ReadOnlySpan<byte> payload) : IFrameBuilder
    {
        private readonly ReadOnlySpan<byte> _payload = payload;

        public void Build(Span<byte> frame)
        {
            ethernet.Emit(frame);
            var ip = frame[EthernetFrame.HeaderLength..];
            _payload.CopyTo(ip[Ipv4Repr.HeaderLength..]);
            header.Emit(ip);
        }
    }
}
