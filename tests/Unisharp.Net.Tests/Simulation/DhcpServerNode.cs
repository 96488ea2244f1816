using Unisharp.Devices;
using Unisharp.Net.Wire;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Simulation;

/// <summary>
/// A tiny DHCP server for simulations (RFC 2131 §4.3, the parts a client test needs): hands out addresses
/// from a pool by client MAC, answers ARP for its own address, and records what it received.
/// </summary>
internal sealed class DhcpServerNode : ISimulatedNode
{
    private readonly SimulatedDevice _device;
    private readonly byte[] _rx = new byte[2048];
    private readonly Dictionary<MacAddress, Ipv4Address> _leases = [];
    private readonly HashSet<Ipv4Address> _declined = [];
    private uint _nextHost;

    public DhcpServerNode(SimulatedDevice device, Ipv4Address address, Ipv4Address poolStart, uint leaseSeconds, Ipv4Address? router = null)
    {
        _device = device;
        Address = address;
        PoolStart = poolStart;
        LeaseSeconds = leaseSeconds;
        Router = router;
    }

    public Ipv4Address Address { get; }
    public Ipv4Address PoolStart { get; }
    public uint LeaseSeconds { get; set; }
    public Ipv4Address? Router { get; }

    /// <summary>The DNS server offered in option 6, if any.</summary>
    public Ipv4Address? DnsServer { get; set; }

    /// <summary>When false, the server ignores everything (it is down).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Every DHCP message received: its type, whether it was unicast to us, its ciaddr.</summary>
    public List<(DhcpMessageType Type, bool Unicast, Ipv4Address ClientAddress, Instant At)> Received { get; } = [];

    public IReadOnlyCollection<Ipv4Address> Declined => _declined;

    /// <summary>Forgets every lease, as a server restarted without its lease database would.</summary>
    public void ForgetLeases() => _leases.Clear();

    public void Poll(Instant now)
    {
        int length;
        while ((length = _device.Receive(_rx)) > 0)
        {
            if (Enabled)
            {
                Handle(_rx.AsSpan(0, length), now);
            }
        }
    }

    public Instant PollAt(Instant now) => Instant.Never;

    private void Handle(Span<byte> frame, Instant now)
    {
        if (EthernetRepr.TryParse(frame, out var eth) != WireError.None)
        {
            return;
        }
        var payload = frame[EthernetFrame.HeaderLength..];
        if (eth.EtherType == EtherType.Arp)
        {
            if (ArpRepr.TryParse(payload, out var arp) == WireError.None && arp.Operation == ArpOperation.Request && arp.TargetIp == Address)
            {
                byte[] reply = new byte[42];
                new EthernetRepr(arp.SenderMac, _device.MacAddress, EtherType.Arp).Emit(reply);
                new ArpRepr(ArpOperation.Reply, _device.MacAddress, Address, arp.SenderMac, arp.SenderIp).Emit(reply.AsSpan(14));
                _device.TrySend(reply);
            }
            return;
        }
        if (eth.EtherType != EtherType.Ipv4 || Ipv4Repr.TryParse(payload, out var ip, out var ipPayload) != WireError.None
            || ip.Protocol != IpProtocol.Udp
            || UdpRepr.TryParse(ipPayload, ip.Source, ip.Destination, out var udp, out var data) != WireError.None
            || udp.DestinationPort != DhcpRepr.ServerPort
            || DhcpRepr.TryParse(data, out var request) != WireError.None)
        {
            return;
        }
        Received.Add((request.MessageType, ip.Destination == Address, request.ClientAddress, now));
        switch (request.MessageType)
        {
            case DhcpMessageType.Discover:
                Reply(request, DhcpMessageType.Offer, Lease(request.ClientHardwareAddress));
                break;
            case DhcpMessageType.Request:
                var wanted = request.RequestedAddress ?? request.ClientAddress;
                if (request.ServerIdentifier is { } server && server != Address)
                {
                    _leases.Remove(request.ClientHardwareAddress);
                    return;
                }
                if (_leases.TryGetValue(request.ClientHardwareAddress, out var leased) && leased == wanted)
                {
                    Reply(request, DhcpMessageType.Ack, leased);
                }
                else
                {
                    Reply(request, DhcpMessageType.Nak, Ipv4Address.Any);
                }
                break;
            case DhcpMessageType.Decline when request.RequestedAddress is { } bad:
                _declined.Add(bad);
                _leases.Remove(request.ClientHardwareAddress);
                break;
        }
    }

    private Ipv4Address Lease(MacAddress client)
    {
        if (_leases.TryGetValue(client, out var address))
        {
            return address;
        }
        do
        {
            address = new Ipv4Address(PoolStart.Value + _nextHost++);
        }
        while (_declined.Contains(address));
        _leases[client] = address;
        return address;
    }

    private void Reply(in DhcpRepr request, DhcpMessageType type, Ipv4Address yourAddress)
    {
        bool nak = type == DhcpMessageType.Nak;
        var reply = new DhcpRepr(type, request.TransactionId, request.ClientHardwareAddress, 0, request.Broadcast,
            default, yourAddress, nak ? default : Address, default,
            SubnetMask: nak ? null : Ipv4Address.Parse("255.255.255.0"), Router: nak ? null : Router, DnsServer: nak ? null : DnsServer, ServerIdentifier: Address,
            LeaseSeconds: nak ? null : LeaseSeconds);
        // RFC 2131 §4.1: to ciaddr when the client has one, else broadcast (we always broadcast to a client without one).
        bool unicast = !request.ClientAddress.IsUnspecified && !nak;
        var destination = unicast ? request.ClientAddress : Ipv4Address.Broadcast;
        var mac = unicast ? request.ClientHardwareAddress : MacAddress.Broadcast;
        int dhcpLength = reply.BufferLength;
        byte[] frame = new byte[14 + 20 + 8 + dhcpLength];
        new EthernetRepr(mac, _device.MacAddress, EtherType.Ipv4).Emit(frame);
        reply.Emit(frame.AsSpan(42));
        new UdpRepr(DhcpRepr.ServerPort, DhcpRepr.ClientPort, dhcpLength).Emit(frame.AsSpan(34), frame.AsSpan(42), Address, destination);
        new Ipv4Repr(Address, destination, IpProtocol.Udp, 8 + dhcpLength).Emit(frame.AsSpan(14));
        _device.TrySend(frame);
    }
}
