using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Wire;

public class DhcpTests
{
    private static readonly MacAddress s_client = MacAddress.Parse("02:00:00:00:00:0b");
    private static readonly Ipv4Address s_server = Ipv4Address.Parse("198.18.0.1");
    private static readonly Ipv4Address s_offered = Ipv4Address.Parse("198.18.0.104");
    private const uint Xid = 0x3903f326;

    /// <summary>The DHCP message inside a captured frame (after Ethernet, IPv4 and UDP headers).</summary>
    private static byte[] Message(byte[] frame) => frame.AsSpan(42).ToArray();

    [Fact]
    public void View_CapturedOffer_ReadsFixedFields()
    {
        Assert.Equal(WireError.None, DhcpPacket.TryCreate(Message(Captures.DhcpOffer), out var dhcp));
        Assert.Equal(DhcpRepr.BootReply, dhcp.Op);
        Assert.Equal(1, dhcp.HardwareType);
        Assert.Equal(6, dhcp.HardwareLength);
        Assert.Equal(Xid, dhcp.TransactionId);
        Assert.True(dhcp.Broadcast);
        Assert.Equal(Ipv4Address.Any, dhcp.ClientAddress);
        Assert.Equal(s_offered, dhcp.YourAddress);
        Assert.Equal(s_server, dhcp.ServerAddress);
        Assert.Equal(Ipv4Address.Any, dhcp.RelayAddress);
        Assert.Equal(s_client, dhcp.ClientHardwareAddress);
    }

    [Fact]
    public void View_SetFixed_WritesCapturedDiscoverFixedPart()
    {
        byte[] message = new byte[DhcpPacket.FixedLength];
        new DhcpPacket(message).SetFixed(DhcpRepr.BootRequest, Xid, 0, true, default, default, default, default, s_client);

        Assert.Equal(Message(Captures.DhcpDiscover).AsSpan(0, DhcpPacket.FixedLength).ToArray(), message);
    }

    [Fact]
    public void TryParse_CapturedOffer_ReadsOptions()
    {
        Assert.Equal(WireError.None, DhcpRepr.TryParse(Message(Captures.DhcpOffer), out var offer));

        var expected = new DhcpRepr(DhcpMessageType.Offer, Xid, s_client, 0, true, default, s_offered, s_server, default,
            SubnetMask: Ipv4Address.Parse("255.255.255.0"), Router: s_server, DnsServer: s_server, ServerIdentifier: s_server,
            LeaseSeconds: 120, RenewalSeconds: 60, RebindingSeconds: 105);
        Assert.Equal(expected, offer);
        Assert.False(offer.IsFromClient);
    }

    [Fact]
    public void TryParse_CapturedAckAndRequest_ReadTypesAndAddresses()
    {
        Assert.Equal(WireError.None, DhcpRepr.TryParse(Message(Captures.DhcpAck), out var ack));
        Assert.Equal(WireError.None, DhcpRepr.TryParse(Message(Captures.DhcpRequest), out var request));
        Assert.Equal(WireError.None, DhcpRepr.TryParse(Message(Captures.DhcpDiscover), out var discover));

        Assert.Equal(DhcpMessageType.Ack, ack.MessageType);
        Assert.Equal(s_offered, ack.YourAddress);
        Assert.Equal(120u, ack.LeaseSeconds);
        Assert.Equal(DhcpMessageType.Request, request.MessageType);
        Assert.Equal(s_offered, request.RequestedAddress);
        Assert.Equal(s_server, request.ServerIdentifier);
        Assert.Equal(DhcpMessageType.Discover, discover.MessageType);
        Assert.True(discover.IsFromClient);
    }

    [Fact]
    public void Emit_Discover_FixedPartAsCapturedThenOurOptions()
    {
        var discover = new DhcpRepr(DhcpMessageType.Discover, Xid, s_client, Broadcast: true);
        byte[] message = new byte[discover.BufferLength];
        discover.Emit(message);

        byte[] expected = new byte[300];
        Message(Captures.DhcpDiscover).AsSpan(0, 240).CopyTo(expected);
        // Message type DISCOVER; parameter request list: mask, router, DNS, lease, T1, T2; end; zero padding to 300.
        byte[] options = [53, 1, 1, 55, 6, 1, 3, 6, 51, 58, 59, 255];
        options.CopyTo(expected, 240);
        Assert.Equal(expected, message);
    }

    [Fact]
    public void Emit_Offer_ParsesBackEqual()
    {
        var offer = new DhcpRepr(DhcpMessageType.Offer, Xid, s_client, 0, true, default, s_offered, s_server, default,
            SubnetMask: Ipv4Address.Parse("255.255.255.0"), Router: s_server, DnsServer: s_server, ServerIdentifier: s_server,
            LeaseSeconds: 120, RenewalSeconds: 60, RebindingSeconds: 105);
        byte[] message = new byte[offer.BufferLength];
        offer.Emit(message);

        Assert.Equal(WireError.None, DhcpRepr.TryParse(message, out var parsed));
        Assert.Equal(offer, parsed);
        Assert.Equal(DhcpRepr.BootReply, message[0]);
    }

    [Fact]
    public void TryParse_ShorterThanFixedPart_Truncated()
    {
        Assert.Equal(WireError.Truncated, DhcpRepr.TryParse(Message(Captures.DhcpOffer).AsSpan(0, 239).ToArray(), out _));
    }

    [Fact]
    public void TryParse_NoMagicCookie_Unsupported()
    {
        byte[] message = Message(Captures.DhcpOffer);
        message[236] = 0;

        Assert.Equal(WireError.Unsupported, DhcpRepr.TryParse(message, out _));
    }

    [Fact]
    public void TryParse_OptionRunsPastEnd_BadLength()
    {
        byte[] message = [.. Message(Captures.DhcpOffer).AsSpan(0, 240), 53, 1, 2, 51, 4, 0, 0];

        Assert.Equal(WireError.BadLength, DhcpRepr.TryParse(message, out _));
    }

    [Fact]
    public void TryParse_NoEndOption_BadLength()
    {
        byte[] message = [.. Message(Captures.DhcpOffer).AsSpan(0, 240), 53, 1, 2];

        Assert.Equal(WireError.BadLength, DhcpRepr.TryParse(message, out _));
    }

    [Fact]
    public void TryParse_NoMessageType_Unsupported()
    {
        byte[] message = [.. Message(Captures.DhcpOffer).AsSpan(0, 240), 51, 4, 0, 0, 0, 120, 255];

        Assert.Equal(WireError.Unsupported, DhcpRepr.TryParse(message, out _));
    }

    [Theory]
    [InlineData(new byte[] { 53, 1, 9, 255 })] // message type 9 does not exist
    [InlineData(new byte[] { 53, 2, 2, 0, 255 })] // message type of two bytes
    [InlineData(new byte[] { 53, 1, 2, 1, 3, 255, 255, 255, 255 })] // three-byte subnet mask
    [InlineData(new byte[] { 53, 1, 2, 51, 2, 0, 120, 255 })] // two-byte lease time
    public void TryParse_MalformedOptionValue_BadField(byte[] options)
    {
        byte[] message = [.. Message(Captures.DhcpOffer).AsSpan(0, 240), .. options];

        Assert.Equal(WireError.BadField, DhcpRepr.TryParse(message, out _));
    }

    [Fact]
    public void TryParse_NotEthernet_Unsupported()
    {
        byte[] message = Message(Captures.DhcpOffer);
        message[1] = 6;

        Assert.Equal(WireError.Unsupported, DhcpRepr.TryParse(message, out _));
    }
}
