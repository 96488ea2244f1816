using Unisharp.Net;

namespace Unisharp.Tests.Net;

public sealed class AddressTests
{
    [Theory]
    [InlineData("198.18.0.1", 0xC6120001u)]
    [InlineData("0.0.0.0", 0u)]
    [InlineData("255.255.255.255", 0xFFFFFFFFu)]
    public void Ipv4Address_Parse_RoundTrips(string text, uint value)
    {
        var address = Ipv4Address.Parse(text);
        Assert.Equal(value, address.Value);
        Assert.Equal(text, address.ToString());
    }

    [Theory]
    [InlineData("198.18.0")]
    [InlineData("198.18.0.1.2")]
    [InlineData("198.18.0.256")]
    [InlineData("198.18..1")]
    [InlineData(" 198.18.0.1")]
    [InlineData("198.18.0.1 ")]
    [InlineData("+1.2.3.4")]
    [InlineData("1.2.3.0004")]
    [InlineData("")]
    public void Ipv4Address_TryParse_RejectsMalformed(string text) => Assert.False(Ipv4Address.TryParse(text, null, out _));

    [Fact]
    public void Ipv4Address_ReadWrite_NetworkOrder()
    {
        byte[] bytes = [198, 18, 0, 1];
        var address = Ipv4Address.Read(bytes);
        Assert.Equal(new Ipv4Address(198, 18, 0, 1), address);
        var written = new byte[4];
        address.Write(written);
        Assert.Equal(bytes, written);
    }

    [Fact]
    public void Ipv4Address_Classes_Detected()
    {
        Assert.True(Ipv4Address.Parse("224.0.0.1").IsMulticast);
        Assert.True(Ipv4Address.Broadcast.IsBroadcast);
        Assert.True(Ipv4Address.Parse("127.0.0.1").IsLoopback);
        Assert.True(Ipv4Address.Any.IsUnspecified);
    }

    [Fact]
    public void MacAddress_ParseFormatReadWrite_Consistent()
    {
        var mac = MacAddress.Parse("02:00:5E:10:00:01");
        Assert.Equal("02:00:5e:10:00:01", mac.ToString());
        var bytes = new byte[6];
        mac.Write(bytes);
        Assert.Equal(new byte[] { 0x02, 0x00, 0x5E, 0x10, 0x00, 0x01 }, bytes);
        Assert.Equal(mac, MacAddress.Read(bytes));
        Assert.True(mac.IsLocallyAdministered);
        Assert.True(mac.IsUnicast);
        Assert.True(MacAddress.Broadcast.IsMulticast);
    }

    [Theory]
    [InlineData("02:00:5e:10:00")]
    [InlineData("02:00:5e:10:00:0g")]
    [InlineData("02-00-5e-10-00-01x")]
    [InlineData("0200.5e10.0001")]
    public void MacAddress_TryParse_RejectsMalformed(string text) => Assert.False(MacAddress.TryParse(text, null, out _));

    [Fact]
    public void MacAddress_CreateLocal_IsUnicastAndLocal()
    {
        var mac = MacAddress.CreateLocal([0xFF, 1, 2, 3, 4, 5]);
        Assert.True(mac.IsUnicast);
        Assert.True(mac.IsLocallyAdministered);
    }

    [Fact]
    public void Ipv4Cidr_Contains_OnLinkOnly()
    {
        var cidr = Ipv4Cidr.Parse("198.18.0.2/24");
        Assert.True(cidr.Contains(Ipv4Address.Parse("198.18.0.200")));
        Assert.False(cidr.Contains(Ipv4Address.Parse("198.19.0.1")));
        Assert.Equal(Ipv4Address.Parse("198.18.0.0"), cidr.Network);
        Assert.Equal(Ipv4Address.Parse("198.18.0.255"), cidr.BroadcastAddress);
        Assert.True(Ipv4Cidr.Parse("0.0.0.0/0").Contains(Ipv4Address.Parse("1.2.3.4")));
    }

    [Theory]
    [InlineData("198.18.0.2/33")]
    [InlineData("198.18.0.2/")]
    [InlineData("198.18.0.2")]
    [InlineData("198.18.0.2/-1")]
    public void Ipv4Cidr_TryParse_RejectsMalformed(string text) => Assert.False(Ipv4Cidr.TryParse(text, null, out _));

    [Fact]
    public void Ipv4Endpoint_Parse_RoundTrips()
    {
        var endpoint = Ipv4Endpoint.Parse("198.18.0.2:8080");
        Assert.Equal(new Ipv4Endpoint(new Ipv4Address(198, 18, 0, 2), 8080), endpoint);
        Assert.Equal("198.18.0.2:8080", endpoint.ToString());
        Assert.False(Ipv4Endpoint.TryParse("198.18.0.2:65536", null, out _));
    }
}
