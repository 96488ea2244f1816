using Unisharp.Net.Wire;

namespace Unisharp.Net.Iface;

internal sealed partial class NetworkInterface
{
    /// <summary>Datagrams taken from one socket's send queue per poll, so one busy socket cannot starve the rest.</summary>
    private const int MaxSendsPerSocket = 256;

    private void ProcessUdp(in Ipv4Repr ip, Span<byte> payload, bool dhcpOnly, bool checksumTrusted, Instant now)
    {
        var error = UdpRepr.TryParse(payload, ip.Source, ip.Destination, out var udp, out var data, !checksumTrusted);
        if (error != WireError.None)
        {
            Stats.Drop(error == WireError.BadChecksum ? DropReason.UdpBadChecksum : DropReason.MalformedUdp);
            return;
        }
        if (_dhcp is not null && udp.DestinationPort == DhcpRepr.ClientPort && udp.SourcePort == DhcpRepr.ServerPort)
        {
            if (DhcpRepr.TryParse(data, out var dhcp) != WireError.None)
            {
                Stats.Drop(DropReason.MalformedDhcp);
                return;
            }
            Stats.DhcpMessagesReceived++;
            _dhcp.Process(dhcp, now, this);
            return;
        }
        if (dhcpOnly)
        {
            Stats.Drop(DropReason.NotOurAddress);
            return;
        }
        var socket = _udp.Find(udp.DestinationPort);
        if (socket is null)
        {
            Stats.Drop(DropReason.NoSocket);
            SendIcmpUnreachable(Icmpv4Repr.CodePortUnreachable, ip, payload, now);
            return;
        }
        if (!socket.Deliver(data, new Ipv4Endpoint(ip.Source, udp.SourcePort)))
        {
            Stats.Drop(DropReason.SocketBufferFull);
            return;
        }
        Stats.UdpDatagramsReceived++;
    }

    private void TransmitUdp(Instant now)
    {
        foreach (var socket in _udp.Sockets)
        {
            for (int n = 0; n < MaxSendsPerSocket; n++)
            {
                // A datagram whose neighbour is being resolved, with that neighbour's share of the ARP queue
                // full, stays in the socket's queue: a burst at start-up is delayed, not dropped.
                if (socket.TryPeekSend(out var next) && IsWaitingForArp(next.Address, now))
                {
                    break;
                }
                int length = socket.TryDequeueSend(TransmitPayload[UdpPacket.HeaderLength..], out var remote);
                if (length < 0)
                {
                    break;
                }
                SendUdp(socket.Port, remote, length, now);
            }
        }
    }

    /// <summary>True when <paramref name="socket"/> has a datagram it can send now.</summary>
    private bool CanSendNow(Udp.UdpSocketCore socket, Instant now) =>
        socket.TryPeekSend(out var next) && !IsWaitingForArp(next.Address, now);

    /// <summary>Sends the <paramref name="length"/> bytes already at <see cref="TransmitPayload"/> + 8 as one UDP datagram.</summary>
    private bool SendUdp(ushort sourcePort, Ipv4Endpoint remote, int length, Instant now, Ipv4Address? source = null)
    {
        var from = source ?? _address?.Address;
        if (from is null)
        {
            Stats.Drop(DropReason.NoRoute);
            return false;
        }
        var udp = new UdpRepr(sourcePort, remote.Port, length);
        var buffer = TransmitPayload;
        udp.Emit(buffer, buffer[UdpPacket.HeaderLength..], from.Value, remote.Address);
        if (!SendIp(remote.Address, IpProtocol.Udp, udp.BufferLength, now, source: from))
        {
            return false;
        }
        Stats.UdpDatagramsSent++;
        return true;
    }

    void Dhcp.IDhcpClientHost.SendDhcp(in DhcpRepr message, Ipv4Address source, Ipv4Address destination)
    {
        message.Emit(TransmitPayload[UdpPacket.HeaderLength..]);
        SendUdp(DhcpRepr.ClientPort, new Ipv4Endpoint(destination, DhcpRepr.ServerPort), message.BufferLength, _now, source);
    }

    void Dhcp.IDhcpClientHost.OnLeaseAcquired(Ipv4Cidr address, Ipv4Address? gateway)
    {
        Stats.DhcpLeasesAcquired++;
        ConfigureAddress(address, gateway, _now);
    }

    void Dhcp.IDhcpClientHost.OnLeaseLost() => Deconfigure();
}
