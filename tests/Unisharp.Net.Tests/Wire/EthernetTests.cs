using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Wire;

public class EthernetTests
{
    private static readonly MacAddress s_a = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress s_b = MacAddress.Parse("02:00:00:00:00:0b");

    [Fact]
    public void View_CapturedArpRequest_ReadsFields()
    {
        byte[] frame = Captures.ArpRequest;

        Assert.Equal(WireError.None, EthernetFrame.TryCreate(frame, out var eth));
        Assert.Equal(MacAddress.Broadcast, eth.Destination);
        Assert.Equal(s_a, eth.Source);
        Assert.Equal(EtherType.Arp, eth.EtherType);
        Assert.False(eth.HasVlanTag);
        Assert.Equal(-1, eth.VlanId);
        Assert.Equal(28, eth.Payload.Length);
    }

    [Fact]
    public void View_SetFields_WritesCapturedHeader()
    {
        byte[] frame = new byte[14];
        var eth = new EthernetFrame(frame) { Destination = s_b, Source = s_a };
        eth.SetEtherType(EtherType.Ipv4);

        Assert.Equal(Captures.UdpHello.AsSpan(0, 14).ToArray(), frame);
    }

    [Fact]
    public void TryParse_CapturedUdp_GivesRepr()
    {
        Assert.Equal(WireError.None, EthernetRepr.TryParse(Captures.UdpHello, out var repr));
        Assert.Equal(new EthernetRepr(s_b, s_a, EtherType.Ipv4), repr);
    }

    [Fact]
    public void Emit_Repr_MatchesCapture()
    {
        byte[] frame = new byte[EthernetRepr.BufferLength];
        new EthernetRepr(s_a, s_b, EtherType.Arp).Emit(frame);

        Assert.Equal(Captures.ArpReply.AsSpan(0, 14).ToArray(), frame);
    }

    [Fact]
    public void View_VlanTaggedFrame_ReadsTagAndInnerType()
    {
        // 802.1Q: TPID 8100, TCI priority 5 VLAN 42 (0xA02A), then the inner EtherType.
        byte[] frame = [.. Captures.UdpHello.AsSpan(0, 12), 0x81, 0x00, 0xA0, 0x2A, 0x08, 0x00, .. Captures.UdpHello.AsSpan(14)];

        Assert.Equal(WireError.None, EthernetFrame.TryCreate(frame, out var eth));
        Assert.True(eth.HasVlanTag);
        Assert.Equal(42, eth.VlanId);
        Assert.Equal(EtherType.Ipv4, eth.EtherType);
        Assert.Equal(18, eth.PayloadOffset);
        Assert.Equal(0x45, eth.Payload[0]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(13)]
    public void TryCreate_ShortFrame_Truncated(int length)
    {
        Assert.Equal(WireError.Truncated, EthernetFrame.TryCreate(new byte[length], out _));
    }

    [Fact]
    public void TryCreate_VlanTagCutShort_Truncated()
    {
        byte[] frame = [.. Captures.UdpHello.AsSpan(0, 12), 0x81, 0x00, 0xA0];

        Assert.Equal(WireError.Truncated, EthernetFrame.TryCreate(frame, out _));
    }

    [Fact]
    public void TryParse_StackedVlanTags_Unsupported()
    {
        // Found by fuzz/run ethernet: a tag inside a tag (802.1ad QinQ) parsed to a header whose EtherType is the
        // tag's own TPID, which emits as a tagged frame without its tag.
        byte[] frame = [.. Captures.UdpHello.AsSpan(0, 12), 0x81, 0x00, 0x00, 0x2A, 0x81, 0x00, 0x00, 0x2B, 0x08, 0x00, .. Captures.UdpHello.AsSpan(14)];

        Assert.Equal(WireError.Unsupported, EthernetRepr.TryParse(frame, out _));
    }
}
