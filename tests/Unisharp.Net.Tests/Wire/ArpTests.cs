using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Wire;

public class ArpTests
{
    private static readonly MacAddress s_a = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress s_b = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly Ipv4Address s_ipA = Ipv4Address.Parse("198.18.0.1");
    private static readonly Ipv4Address s_ipB = Ipv4Address.Parse("198.18.0.2");

    [Fact]
    public void View_CapturedRequest_ReadsFields()
    {
        Assert.Equal(WireError.None, ArpPacket.TryCreate(Captures.ArpRequest.AsSpan(14), out var arp));
        Assert.Equal(1, arp.HardwareType);
        Assert.Equal(0x0800, arp.ProtocolType);
        Assert.Equal(6, arp.HardwareLength);
        Assert.Equal(4, arp.ProtocolLength);
        Assert.Equal(ArpOperation.Request, arp.Operation);
        Assert.Equal(s_a, arp.SenderMac);
        Assert.Equal(s_ipA, arp.SenderIp);
        Assert.Equal(MacAddress.Zero, arp.TargetMac);
        Assert.Equal(s_ipB, arp.TargetIp);
    }

    [Fact]
    public void View_SetFields_WritesCapturedReply()
    {
        byte[] buffer = new byte[28];
        var arp = new ArpPacket(buffer);
        arp.SetEthernetIpv4();
        arp.SetOperation(ArpOperation.Reply);
        arp.SetSenderMac(s_b);
        arp.SetSenderIp(s_ipB);
        arp.SetTargetMac(s_a);
        arp.SetTargetIp(s_ipA);

        Assert.Equal(Captures.ArpReply.AsSpan(14).ToArray(), buffer);
    }

    [Fact]
    public void TryParse_CapturedReply_GivesRepr()
    {
        Assert.Equal(WireError.None, ArpRepr.TryParse(Captures.ArpReply.AsSpan(14), out var repr));
        Assert.Equal(new ArpRepr(ArpOperation.Reply, s_b, s_ipB, s_a, s_ipA), repr);
    }

    [Fact]
    public void Emit_RequestWithEthernet_MatchesCapture()
    {
        byte[] frame = new byte[42];
        new EthernetRepr(MacAddress.Broadcast, s_a, EtherType.Arp).Emit(frame);
        new ArpRepr(ArpOperation.Request, s_a, s_ipA, MacAddress.Zero, s_ipB).Emit(frame.AsSpan(14));

        Assert.Equal(Captures.ArpRequest, frame);
    }

    [Fact]
    public void TryParse_Truncated_Rejected()
    {
        Assert.Equal(WireError.Truncated, ArpRepr.TryParse(Captures.ArpReply.AsSpan(14, 27), out _));
    }

    [Theory]
    [InlineData(1, 0x06)] // hardware type 6 (IEEE 802)
    [InlineData(2, 0x86)] // protocol type 0x8600
    [InlineData(4, 8)] // hardware length 8
    [InlineData(5, 16)] // protocol length 16
    [InlineData(7, 3)] // opcode 3 (RARP request)
    public void TryParse_OtherHardwareProtocolOrOpcode_Unsupported(int offset, byte value)
    {
        byte[] arp = Captures.ArpReply.AsSpan(14).ToArray();
        arp[offset] = value;

        Assert.Equal(WireError.Unsupported, ArpRepr.TryParse(arp, out _));
    }

    [Fact]
    public void TryParse_MulticastSender_BadField()
    {
        byte[] arp = Captures.ArpReply.AsSpan(14).ToArray();
        arp[8] = 0x01;

        Assert.Equal(WireError.BadField, ArpRepr.TryParse(arp, out _));
    }
}
