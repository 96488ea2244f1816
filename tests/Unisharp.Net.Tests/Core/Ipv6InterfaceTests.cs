using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Net.Iface;
using Unisharp.Net.Wire;
using static Unisharp.Net.Tests.Core.InterfaceFixture;

namespace Unisharp.Net.Tests.Core;

public class Ipv6InterfaceTests
{
    private static NetworkInterface Create(TestDevice device, NetworkInterfaceOptions? options = null, ulong seed = 1) =>
        new(device, new SeededEntropy(seed), QuietLog, new IpConfiguration(Ipv4Cidr.Parse("198.18.0.2/24"), null, false, Ipv6Autoconfiguration: true),
            Instant.Zero, options);

    private static void RunFor(NetworkInterface iface, Duration duration)
    {
        for (var now = Instant.Zero; now <= Instant.Zero + duration; now += Duration.FromMilliseconds(100))
        {
            iface.Poll(now);
        }
    }

    [Fact]
    public void LinkLocal_Default_ModifiedEui64AfterDad()
    {
        var iface = Create(new TestDevice(MacB));
        RunFor(iface, Duration.FromSeconds(3));
        Assert.Equal(Ipv6Address.Parse("fe80::ff:fe00:b"), iface.LinkLocalAddress);
        Assert.Equal(Ipv6AddressState.Preferred, iface.Ipv6StateOf(Ipv6Address.Parse("fe80::ff:fe00:b")));
    }

    [Fact]
    public void LinkLocal_StablePrivacy_NotFromTheMacAndStablePerKey()
    {
        var options = new NetworkInterfaceOptions { Ipv6StablePrivacy = true };
        var first = Create(new TestDevice(MacB), options, seed: 5);
        var again = Create(new TestDevice(MacB), options, seed: 5);
        var other = Create(new TestDevice(MacB), options, seed: 6);
        var address = first.LinkLocalAddress!.Value;
        Assert.True(address.IsLinkLocal);
        Assert.NotEqual(Ipv6Address.LinkLocal(MacB), address);
        Assert.Equal(address, again.LinkLocalAddress);
        Assert.NotEqual(address, other.LinkLocalAddress);
    }

    [Fact]
    public void Startup_SendsMldReportThenDadProbeThenRouterSolicitation()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        RunFor(iface, Duration.FromSeconds(3));
        var kinds = new List<Icmpv6Type>();
        foreach (byte[] frame in device.Sent)
        {
            if (frame.Length < 62 || frame[12] != 0x86 || frame[13] != 0xDD)
            {
                continue;
            }
            Ipv6Repr.TryParse(frame.AsSpan(14), out var ip, out var payload);
            Ipv6HeaderChain.TryWalk(payload, ip.NextHeader, out var chain, out _, out _, out _);
            Assert.Equal(WireError.None, Icmpv6Repr.TryParse(payload[chain.PayloadOffset..], ip.Source, ip.Destination, out var icmp, out _));
            kinds.Add(icmp.Type);
        }
        Assert.Equal(Icmpv6Type.Mldv2Report, kinds[0]);
        Assert.Equal(Icmpv6Type.NeighborSolicitation, kinds.First(k => k != Icmpv6Type.Mldv2Report));
        Assert.Contains(Icmpv6Type.RouterSolicitation, kinds);
        Assert.True(kinds.IndexOf(Icmpv6Type.NeighborSolicitation) < kinds.IndexOf(Icmpv6Type.RouterSolicitation));
    }

    [Fact]
    public void Ipv6Off_WithoutAutoconfOrAddress_FramesDroppedAsUnknownEtherType()
    {
        var device = new TestDevice(MacB);
        var iface = new NetworkInterface(device, new SeededEntropy(1), QuietLog, new IpConfiguration(Ipv4Cidr.Parse("198.18.0.2/24"), null, false), Instant.Zero);
        device.Incoming.Enqueue(Ipv6Captures.EchoRequestLinkLocal);
        iface.Poll(Instant.Zero);
        Assert.False(iface.Ipv6Enabled);
        Assert.Equal(1, iface.Stats.Dropped(DropReason.UnknownEtherType));
        // Only IPv4's address probe goes out.
        Assert.DoesNotContain(device.Sent, f => f[12] == 0x86 && f[13] == 0xDD);
    }
}
