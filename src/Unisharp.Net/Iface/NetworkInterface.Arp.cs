using Unisharp.Devices;
using Unisharp.Net.Arp;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Iface;

internal sealed partial class NetworkInterface
{
    /// <summary>
    /// Address conflict detection after an address is configured (RFC 5227 §2.1, §2.3), shortened and not
    /// blocking: two probes 1 s apart, then two announcements (gratuitous ARP) 2 s apart. The address is
    /// used from the start; a conflict seen while this runs makes DHCP decline the lease.
    /// </summary>
    private static readonly Duration[] s_conflictSteps =
        [Duration.FromSeconds(1), Duration.FromSeconds(1), Duration.FromSeconds(2), Duration.Zero];
    private const int ProbeCount = 2;
    /// <summary>RFC 5227 §2.4 (b): defend an address at most once per DEFEND_INTERVAL (10 s).</summary>
    private static readonly Duration s_defendInterval = Duration.FromSeconds(10);

    private int _conflictStep = -1;
    private Instant _conflictAt = Instant.Never;
    private Instant _lastDefence = Instant.Zero;
    private bool _defended;

    /// <summary>True while probes and announcements for the current address are still being sent.</summary>
    public bool IsDetectingConflicts => _conflictStep >= 0;

    private void ProcessArp(Span<byte> payload, Instant now)
    {
        var error = ArpRepr.TryParse(payload, out var arp);
        if (error != WireError.None)
        {
            Stats.Drop(error == WireError.Unsupported ? DropReason.UnsupportedArp : DropReason.MalformedArp);
            return;
        }
        var address = _address;
        if (arp.SenderMac == _mac)
        {
            // Our own packet looped back by a hub or a misbehaving switch.
            return;
        }
        if (address is not null && arp.SenderIp == address.Address)
        {
            OnAddressConflict(address, arp.SenderMac, now);
            return;
        }
        if (arp.SenderIp.IsUnspecified)
        {
            if (address is not null && arp.TargetIp == address.Address && arp.Operation == ArpOperation.Request)
            {
                if (_conflictStep >= 0 && _conflictStep <= ProbeCount)
                {
                    // RFC 5227 §2.1.1: another host is probing for the address we are probing for.
                    OnAddressConflict(address, arp.SenderMac, now);
                    return;
                }
                // A probe for our address: answer it as any request (RFC 5227 §2.1.1), so the prober backs off.
                var answer = new ArpRepr(ArpOperation.Reply, _mac, address.Address, arp.SenderMac, Ipv4Address.Any);
                if (SendArp(answer, arp.SenderMac))
                {
                    Stats.ArpRepliesSent++;
                }
            }
            return;
        }
        if (arp.SenderIp.IsBroadcast || arp.SenderIp.IsMulticast)
        {
            return;
        }
        // RFC 826: update an existing mapping for the sender; add one only when the packet is for us.
        bool forUs = address is not null && arp.TargetIp == address.Address;
        bool confirmed = forUs && arp.Operation == ArpOperation.Reply;
        if (_arp.Update(arp.SenderIp, arp.SenderMac, now, create: forUs, confirmed))
        {
            FlushPending(arp.SenderIp, arp.SenderMac);
        }
        if (forUs && arp.Operation == ArpOperation.Request)
        {
            var reply = new ArpRepr(ArpOperation.Reply, _mac, address!.Address, arp.SenderMac, arp.SenderIp);
            if (SendArp(reply, arp.SenderMac))
            {
                Stats.ArpRepliesSent++;
            }
        }
    }

    private void OnAddressConflict(InterfaceAddress address, MacAddress other, Instant now)
    {
        Stats.AddressConflicts++;
        if (_dhcp is not null && _conflictStep >= 0)
        {
            _dhcp.Decline(now, this);
            return;
        }
        if (!_defended || now - _lastDefence >= s_defendInterval)
        {
            _log.Warning(Source, $"{other} also claims {address.Address}; defending it");
            _defended = true;
            _lastDefence = now;
            SendArp(Announcement(address.Address), MacAddress.Broadcast);
        }
    }

    private ArpRepr Announcement(Ipv4Address address) =>
        new(ArpOperation.Request, _mac, address, MacAddress.Zero, address);

    private void StartConflictDetection(Instant now)
    {
        _conflictStep = 0;
        _conflictAt = now;
    }

    private void PollConflictDetection(Instant now)
    {
        while (_conflictStep >= 0 && now >= _conflictAt)
        {
            if (_address is not { } address)
            {
                _conflictStep = -1;
                _conflictAt = Instant.Never;
                return;
            }
            // Probes have an unspecified sender address (RFC 5227 §2.1.1); announcements carry ours as sender and target.
            var arp = _conflictStep < ProbeCount
                ? new ArpRepr(ArpOperation.Request, _mac, Ipv4Address.Any, MacAddress.Zero, address.Address)
                : Announcement(address.Address);
            SendArp(arp, MacAddress.Broadcast);
            var wait = s_conflictSteps[_conflictStep];
            _conflictStep++;
            if (_conflictStep == s_conflictSteps.Length)
            {
                _conflictStep = -1;
                _conflictAt = Instant.Never;
            }
            else
            {
                _conflictAt = now + wait;
            }
        }
    }

    private void PollArp(Instant now)
    {
        while (_arp.TryNextAction(now, out var target, out var destination, out bool failed))
        {
            if (failed)
            {
                int dropped = _arpPending.DropAll(target);
                for (int i = 0; i < dropped; i++)
                {
                    Stats.Drop(DropReason.ArpUnresolved);
                }
                if (_log.IsEnabled(Logging.LogLevel.Debug))
                {
                    _log.Debug(Source, $"no ARP reply from {target}; dropped {dropped} datagrams");
                }
                continue;
            }
            var address = _address;
            if (address is null)
            {
                continue;
            }
            var request = new ArpRepr(ArpOperation.Request, _mac, address.Address, MacAddress.Zero, target);
            if (SendArp(request, destination))
            {
                Stats.ArpRequestsSent++;
            }
        }
    }

    private void FlushPending(Ipv4Address nextHop, MacAddress mac)
    {
        while (_arpPending.TryDequeue(nextHop, out var header, out byte[] payload))
        {
            TransmitIp(mac, header, payload.AsSpan(0, header.PayloadLength));
            ArpPendingQueue.Release(payload);
        }
    }

    private bool SendArp(in ArpRepr arp, MacAddress destination)
    {
        var builder = new ArpFrameBuilder(new EthernetRepr(destination, _mac, EtherType.Arp), arp);
        if (!_device.TryTransmit(EthernetFrame.HeaderLength + ArpPacket.Length, ref builder))
        {
            Stats.Drop(DropReason.DeviceBusy);
            return false;
        }
        Stats.FramesTransmitted++;
        return true;
    }

    private readonly struct ArpFrameBuilder(EthernetRepr ethernet, ArpRepr arp) : IFrameBuilder
    {
        public void Build(Span<byte> frame)
        {
            ethernet.Emit(frame);
            arp.Emit(frame[EthernetFrame.HeaderLength..]);
        }
    }
}
