using Unisharp.Devices;
using Unisharp.Net.Wire;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Simulation;

/// <summary>
/// An IPv6 router for simulations (RFC 4861 §6.2, the parts a host test needs): advertises one prefix every
/// <see cref="Interval"/> and in answer to solicitations, answers neighbor solicitations and pings for its link-local
/// address, and claims any address in <see cref="Claimed"/> (answering duplicate address detection for it).
/// </summary>
internal sealed class RouterNode : ISimulatedNode
{
    private readonly SimulatedDevice _device;
    private readonly byte[] _rx = new byte[2048];
    private Instant _nextAdvertisement = Instant.Zero;

    public RouterNode(SimulatedDevice device, Ipv6Address prefix)
    {
        _device = device;
        Prefix = prefix;
        Address = Ipv6Address.LinkLocal(device.MacAddress);
    }

    public Ipv6Address Address { get; }
    public Ipv6Address Prefix { get; }
    public uint ValidLifetime { get; set; } = 86400;
    public uint PreferredLifetime { get; set; } = 14400;
    public ushort RouterLifetime { get; set; } = 1800;
    public Duration Interval { get; set; } = Duration.FromSeconds(30);
    /// <summary>When false the router sends and answers nothing.</summary>
    public bool Enabled { get; set; } = true;
    public HashSet<Ipv6Address> Claimed { get; } = [];
    public int SolicitationsReceived { get; private set; }
    public int EchoRequestsReceived { get; private set; }

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
        if (Enabled && now >= _nextAdvertisement)
        {
            Advertise(Ipv6Address.AllNodes, now);
        }
    }

    public Instant PollAt(Instant now) => Enabled ? _nextAdvertisement : Instant.Never;

    private void Advertise(Ipv6Address destination, Instant now)
    {
        var ra = new NdpRepr(Icmpv6Type.RouterAdvertisement, SourceLinkLayer: _device.MacAddress, CurHopLimit: 64, RouterLifetime: RouterLifetime,
            Mtu: 1500, Prefix: new NdpPrefixInformation(Prefix, 64, true, true, ValidLifetime, PreferredLifetime));
        Send(destination, destination.IsMulticast ? destination.MulticastMac : MacAddress.Broadcast, Address, ra.BufferLength, b => ra.Emit(b, Address, destination));
        _nextAdvertisement = now + Interval;
    }

    private void Send(Ipv6Address destination, MacAddress mac, Ipv6Address source, int length, Action<byte[]> emit)
    {
        byte[] message = new byte[length];
        emit(message);
        byte[] frame = new byte[14 + 40 + length];
        new EthernetRepr(mac, _device.MacAddress, EtherType.Ipv6).Emit(frame);
        message.CopyTo(frame, 54);
        new Ipv6Repr(source, destination, IpProtocol.Icmpv6, length, 255).Emit(frame.AsSpan(14));
        _device.TrySend(frame);
    }

    private void Handle(Span<byte> frame, Instant now)
    {
        if (EthernetRepr.TryParse(frame, out var eth) != WireError.None || eth.EtherType != EtherType.Ipv6
            || Ipv6Repr.TryParse(frame[14..], out var ip, out var payload) != WireError.None
            || Ipv6HeaderChain.TryWalk(payload, ip.NextHeader, out var chain, out _, out _, out _) != Ipv6ChainError.None
            || chain.Protocol != IpProtocol.Icmpv6
            || Icmpv6Repr.TryParse(payload[chain.PayloadOffset..], ip.Source, ip.Destination, out var icmp, out var data) != WireError.None)
        {
            return;
        }
        switch (icmp.Type)
        {
            case Icmpv6Type.RouterSolicitation:
                SolicitationsReceived++;
                Advertise(Ipv6Address.AllNodes, now);
                break;
            case Icmpv6Type.NeighborSolicitation when NdpRepr.TryParse(ip, icmp, data, out var ns, out _) == WireError.None
                && (ns.Target == Address || Claimed.Contains(ns.Target)):
            {
                var destination = ip.Source.IsUnspecified ? Ipv6Address.AllNodes : ip.Source;
                var na = new NdpRepr(Icmpv6Type.NeighborAdvertisement, ns.Target, TargetLinkLayer: _device.MacAddress, Router: true,
                    Solicited: !ip.Source.IsUnspecified, Override: true);
                var mac = ip.Source.IsUnspecified ? Ipv6Address.AllNodes.MulticastMac : ns.SourceLinkLayer ?? eth.Source;
                Send(destination, mac, ns.Target, na.BufferLength, b => na.Emit(b, ns.Target, destination));
                break;
            }
            case Icmpv6Type.EchoRequest when ip.Destination == Address:
            {
                EchoRequestsReceived++;
                var reply = icmp with { Type = Icmpv6Type.EchoReply };
                byte[] echoData = data.ToArray();
                byte[] message = new byte[reply.BufferLength];
                reply.Emit(message, echoData, Address, ip.Source);
                byte[] out6 = new byte[14 + 40 + message.Length];
                new EthernetRepr(eth.Source, _device.MacAddress, EtherType.Ipv6).Emit(out6);
                message.CopyTo(out6, 54);
                new Ipv6Repr(Address, ip.Source, IpProtocol.Icmpv6, message.Length, 64).Emit(out6.AsSpan(14));
                _device.TrySend(out6);
                break;
            }
        }
    }
}
