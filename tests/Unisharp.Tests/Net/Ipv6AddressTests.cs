using Unisharp.Net;

namespace Unisharp.Tests.Net;

public class Ipv6AddressTests
{
    [Theory]
    [InlineData("::", "::")]
    [InlineData("::1", "::1")]
    [InlineData("fe80::ff:fe00:b", "fe80::ff:fe00:b")]
    [InlineData("2001:DB8:0:0:0:0:0:1", "2001:db8::1")]
    [InlineData("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1")]
    [InlineData("2001:0:0:1:0:0:0:1", "2001:0:0:1::1")]
    [InlineData("fd00:198:18::", "fd00:198:18::")]
    [InlineData("::ffff:198.18.0.1", "::ffff:c612:1")]
    [InlineData("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0")]
    public void Parse_ThenToString_Rfc5952(string text, string expected) =>
        Assert.Equal(expected, Ipv6Address.Parse(text).ToString());

    [Theory]
    [InlineData("")]
    [InlineData(":")]
    [InlineData(":::")]
    [InlineData("1::2::3")]
    [InlineData("1:2:3:4:5:6:7:8:9")]
    [InlineData("1:2:3:4:5:6:7")]
    [InlineData("12345::")]
    [InlineData("fe80::1%eth0")]
    [InlineData("1:")]
    [InlineData("198.18.0.1")]
    public void TryParse_Invalid_False(string text) => Assert.False(Ipv6Address.TryParse(text, out _));

    [Fact]
    public void LinkLocal_FromMac_ModifiedEui64()
    {
        Assert.Equal(Ipv6Address.Parse("fe80::ff:fe00:b"), Ipv6Address.LinkLocal(MacAddress.Parse("02:00:00:00:00:0b")));
        Assert.Equal(Ipv6Address.Parse("fe80::250:56ff:fe12:3456"), Ipv6Address.LinkLocal(MacAddress.Parse("00:50:56:12:34:56")));
    }

    [Fact]
    public void SolicitedNode_AndMulticastMac_AsRfc4291AndRfc2464()
    {
        var address = Ipv6Address.Parse("fd00:198:18::ff:fe00:b");
        Assert.Equal(Ipv6Address.Parse("ff02::1:ff00:b"), address.SolicitedNode);
        Assert.Equal(MacAddress.Parse("33:33:ff:00:00:0b"), address.SolicitedNode.MulticastMac);
    }

    [Fact]
    public void Classification_KnownAddresses()
    {
        Assert.True(Ipv6Address.Parse("fe80::1").IsLinkLocal);
        Assert.True(Ipv6Address.Parse("febf::1").IsLinkLocal);
        Assert.False(Ipv6Address.Parse("fec0::1").IsLinkLocal);
        Assert.True(Ipv6Address.AllNodes.IsMulticast && Ipv6Address.AllNodes.IsLinkLocalMulticast);
        Assert.True(Ipv6Address.Any.IsUnspecified);
        Assert.True(Ipv6Address.Parse("::ffff:1.2.3.4").IsIpv4Mapped);
    }

    [Theory]
    [InlineData("2001:db8:1:2::5", 64, "2001:db8:1:2::")]
    [InlineData("2001:db8:1:2::5", 48, "2001:db8:1::")]
    [InlineData("2001:db8:1:2:3:4:5:6", 96, "2001:db8:1:2:3:4::")]
    [InlineData("2001:db8::1", 0, "::")]
    public void Prefix_KeepsLeadingBits(string address, int length, string expected) =>
        Assert.Equal(Ipv6Address.Parse(expected), Ipv6Address.Parse(address).Prefix(length));

    [Fact]
    public void Cidr_Parse_AndContains()
    {
        var cidr = Ipv6Cidr.Parse("fd00:198:18::2/64");
        Assert.True(cidr.Contains(Ipv6Address.Parse("fd00:198:18::99")));
        Assert.False(cidr.Contains(Ipv6Address.Parse("fd00:198:19::2")));
        Assert.False(Ipv6Cidr.TryParse("fd00::2/129", null, out _));
        Assert.Equal("fd00:198:18::2/64", cidr.ToString());
    }

    [Fact]
    public void ReadWrite_RoundTrip()
    {
        var address = Ipv6Address.Parse("2001:db8:1234:5678:9abc:def0:1234:5678");
        byte[] bytes = new byte[16];
        address.Write(bytes);
        Assert.Equal(Convert.FromHexString("20010db8123456789abcdef012345678"), bytes);
        Assert.Equal(address, Ipv6Address.Read(bytes));
    }
}
