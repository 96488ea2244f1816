namespace Unisharp.Net.Wire;

/// <summary>An ARP request or reply for IPv4 over Ethernet.</summary>
internal readonly record struct ArpRepr(
    ArpOperation Operation,
    MacAddress SenderMac,
    Ipv4Address SenderIp,
    MacAddress TargetMac,
    Ipv4Address TargetIp)
{
    public const int BufferLength = ArpPacket.Length;

    public static WireError TryParse(Span<byte> buffer, out ArpRepr repr)
    {
        repr = default;
        var error = ArpPacket.TryCreate(buffer, out var packet);
        if (error != WireError.None)
        {
            return error;
        }
        // RFC 826: a packet for another hardware or protocol space is not ours to answer.
        if (packet.HardwareType != 1 || packet.ProtocolType != (ushort)EtherType.Ipv4
            || packet.HardwareLength != MacAddress.Length || packet.ProtocolLength != Ipv4Address.Length)
        {
            return WireError.Unsupported;
        }
        if (packet.Operation is not (ArpOperation.Request or ArpOperation.Reply))
        {
            return WireError.Unsupported;
        }
        if (packet.SenderMac.IsMulticast)
        {
            return WireError.BadField;
        }
        repr = new ArpRepr(packet.Operation, packet.SenderMac, packet.SenderIp, packet.TargetMac, packet.TargetIp);
        return WireError.None;
    }

    public void Emit(Span<byte> buffer)
    {
        var packet = new ArpPacket(buffer);
        packet.SetEthernetIpv4();
        packet.SetOperation(Operation);
        packet.SetSenderMac(SenderMac);
        packet.SetSenderIp(SenderIp);
        packet.SetTargetMac(TargetMac);
        packet.SetTargetIp(TargetIp);
    }
}
