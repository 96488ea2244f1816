using Unisharp.Net.Wire;

namespace Unisharp.Net.Iface;

internal sealed partial class NetworkInterface
{
    /// <summary>The last echo reply received (identifier, sequence, sender): lets tests and tools ping.</summary>
    public (ushort Identifier, ushort Sequence, Ipv4Address From)? LastEchoReply { get; private set; }

    /// <summary>Sends an echo request (ping) with <paramref name="data"/>.</summary>
    public bool SendEchoRequest(Ipv4Address destination, ushort identifier, ushort sequence, ReadOnlySpan<byte> data, Instant now)
    {
        if (_address is null)
        {
            Stats.Drop(DropReason.NoRoute);
            return false;
        }
        var icmp = new Icmpv4Repr(Icmpv4Type.EchoRequest, 0, identifier, sequence, data.Length);
        icmp.Emit(TransmitPayload, data);
        return SendIp(destination, IpProtocol.Icmp, icmp.BufferLength, now);
    }

    private void ProcessIcmp(in Ipv4Repr ip, Span<byte> payload, Instant now)
    {
        var error = Icmpv4Repr.TryParse(payload, out var icmp, out var data);
        if (error != WireError.None)
        {
            Stats.Drop(error == WireError.BadChecksum ? DropReason.IcmpBadChecksum : DropReason.MalformedIcmp);
            return;
        }
        switch (icmp.Type)
        {
            case Icmpv4Type.EchoRequest:
                // Any code: RFC 792 defines only 0, and Linux answers the others too (with code 0).
                // RFC 1122 §3.2.2.6: a request to a broadcast address may be silently discarded, and we do.
                if (_address is not { } address || ip.Destination != address.Address)
                {
                    return;
                }
                var reply = icmp with { Type = Icmpv4Type.EchoReply, Code = 0 };
                // The data is in the receive buffer or the reassembly buffer, never in the transmit scratch area.
                reply.Emit(TransmitPayload, data);
                if (SendIp(ip.Source, IpProtocol.Icmp, reply.BufferLength, now))
                {
                    Stats.EchoRepliesSent++;
                }
                break;
            case Icmpv4Type.EchoReply:
                Stats.EchoRepliesReceived++;
                LastEchoReply = (icmp.Identifier, icmp.SequenceNumber, ip.Source);
                break;
            default:
                // Errors about our own datagrams would go to the sockets that sent them; UDP has no use for them yet.
                break;
        }
    }

    /// <summary>
    /// Sends a destination unreachable error about <paramref name="ip"/>, quoting its header and data up to
    /// 576 bytes in all, unless RFC 1122 §3.2.2 forbids it or the rate limit holds it back.
    /// </summary>
    private void SendIcmpUnreachable(byte code, in Ipv4Repr ip, ReadOnlySpan<byte> payload, Instant now)
    {
        var address = _address;
        // RFC 1122 §3.2.2: never about a broadcast or multicast datagram, or to a source that is not one host.
        if (address is null || ip.Destination != address.Address || ip.Source.IsUnspecified || ip.Source.IsBroadcast
            || ip.Source.IsMulticast || address.IsBroadcast(ip.Source) || ip.Source.IsLoopback)
        {
            return;
        }
        if (!_icmpErrors.TryTake(now))
        {
            Stats.Drop(DropReason.IcmpRateLimited);
            return;
        }
        int quoted = Math.Min(payload.Length, Icmpv4Repr.MaxQuotedData);
        var buffer = TransmitPayload;
        var quote = buffer[Icmpv4Packet.HeaderLength..];
        // The header is re-emitted from its fields (type of service and options are not kept): enough for the sender to find the flow.
        (ip with { PayloadLength = payload.Length, MoreFragments = false, FragmentOffset = 0 }).Emit(quote);
        payload[..quoted].CopyTo(quote[Ipv4Repr.HeaderLength..]);
        var icmp = new Icmpv4Repr(Icmpv4Type.DestinationUnreachable, code, 0, 0, Ipv4Repr.HeaderLength + quoted);
        icmp.Emit(buffer, quote);
        if (SendIp(ip.Source, IpProtocol.Icmp, icmp.BufferLength, now))
        {
            Stats.IcmpUnreachableSent++;
        }
    }
}
