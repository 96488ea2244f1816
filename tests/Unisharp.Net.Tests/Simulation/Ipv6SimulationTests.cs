using Unisharp.Net.Iface;
using Unisharp.Net.Ndp;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Simulation;

public class Ipv6SimulationTests
{
    private static readonly MacAddress s_macA = MacAddress.Parse("02:00:00:00:01:0a");
    private static readonly MacAddress s_macB = MacAddress.Parse("02:00:00:00:01:0b");
    private static readonly MacAddress s_macRouter = MacAddress.Parse("02:00:00:00:01:01");
    private static readonly Ipv6Address s_prefix = Ipv6Address.Parse("fd00:198:18::");
    private static readonly Ipv6Address s_linkLocalA = Ipv6Address.Parse("fe80::ff:fe00:10a");
    private static readonly Ipv6Address s_slaacA = Ipv6Address.Parse("fd00:198:18::ff:fe00:10a");

    private static (SimulatedNetwork Network, DirectStack Host, RouterNode Router) WithRouter(ulong seed, LinkConditions link = default)
    {
        var network = new SimulatedNetwork(seed);
        var router = new RouterNode(network.AddDevice("router", s_macRouter, link), s_prefix) { Interval = Duration.FromSeconds(600) };
        network.AddNode(router);
        var host = StackNode.Add(network, "a", s_macA, "198.18.0.1/24", link, ipv6Autoconf: true);
        return (network, host, router);
    }

    [Fact]
    public void Slaac_RouterAdvertisement_LinkLocalThenGlobalAddressAfterDad()
    {
        var (network, host, router) = WithRouter(31);
        PcapOnFailure.Run(network, () =>
        {
            Assert.True(network.RunUntil(() => host.Interface.Ipv6StateOf(s_slaacA) == Ipv6AddressState.Preferred, Duration.FromSeconds(10)),
                $"no SLAAC address: {host.Stats}");

            Assert.Equal(Ipv6AddressState.Preferred, host.Interface.Ipv6StateOf(s_linkLocalA));
            Assert.Equal(s_linkLocalA, host.Interface.LinkLocalAddress);
            Assert.True(router.SolicitationsReceived >= 1, "the host never solicited a router (the first advertisement is 10 min away)");
            // Two DAD probes (link-local, global) at least.
            Assert.True(host.Stats.NeighborSolicitationsSent >= 2);
            // The default router is used: a ping to the router's link-local address and one off-link through it.
            Assert.True(host.Interface.SendEchoRequest(router.Address, 9, 1, "v6"u8, network.Now));
            Assert.True(network.RunUntil(() => host.Interface.LastEchoReplyV6 is not null, Duration.FromSeconds(2)));
            Assert.Equal((9, 1, router.Address), host.Interface.LastEchoReplyV6!.Value);
        });
    }

    [Fact]
    public void Slaac_PreferredLifetimeRunsOut_DeprecatedThenRemovedAtValidLifetime()
    {
        var (network, host, router) = WithRouter(32);
        router.PreferredLifetime = 20;
        router.ValidLifetime = 40;
        PcapOnFailure.Run(network, () =>
        {
            Assert.True(network.RunUntil(() => host.Interface.Ipv6StateOf(s_slaacA) == Ipv6AddressState.Preferred, Duration.FromSeconds(10)));
            router.Enabled = false;
            network.RunUntil(network.Now + Duration.FromSeconds(25));
            Assert.Equal(Ipv6AddressState.Deprecated, host.Interface.Ipv6StateOf(s_slaacA));
            network.RunUntil(network.Now + Duration.FromSeconds(20));
            Assert.Equal(Ipv6AddressState.Free, host.Interface.Ipv6StateOf(s_slaacA));
            Assert.Equal(Ipv6AddressState.Preferred, host.Interface.Ipv6StateOf(s_linkLocalA));
        });
    }

    [Fact]
    public void Dad_DuplicateLinkLocal_AddressGivenUpAndNoRouterSolicited()
    {
        var (network, host, router) = WithRouter(33);
        router.Claimed.Add(s_linkLocalA);
        PcapOnFailure.Run(network, () =>
        {
            network.RunUntil(Instant.FromMilliseconds(8000));

            Assert.Equal(1, host.Stats.DuplicateAddresses);
            Assert.Equal(Ipv6AddressState.Duplicate, host.Interface.Ipv6StateOf(s_linkLocalA));
            Assert.Empty(host.Interface.Ipv6Addresses());
            Assert.Equal(0, router.SolicitationsReceived);
        });
    }

    [Fact]
    public void Dad_DuplicateSlaacAddress_OnlyLinkLocalKept()
    {
        var (network, host, router) = WithRouter(34);
        router.Claimed.Add(s_slaacA);
        PcapOnFailure.Run(network, () =>
        {
            network.RunUntil(Instant.FromMilliseconds(8000));

            Assert.Equal(1, host.Stats.DuplicateAddresses);
            Assert.Equal(Ipv6AddressState.Duplicate, host.Interface.Ipv6StateOf(s_slaacA));
            Assert.Equal([new Ipv6Cidr(s_linkLocalA, 64)], host.Interface.Ipv6Addresses());
        });
    }

    [Fact]
    public void Dad_TwoStacksWithOneStaticAddress_SecondGivesItUp()
    {
        var network = new SimulatedNetwork(35);
        var a = StackNode.Add(network, "a", s_macA, "198.18.0.1/24", ipv6: "fd00:198:18::5/64");
        network.RunUntil(Instant.FromMilliseconds(3000));
        var b = StackNode.Add(network, "b", s_macB, "198.18.0.2/24", ipv6: "fd00:198:18::5/64");
        PcapOnFailure.Run(network, () =>
        {
            network.RunUntil(Instant.FromMilliseconds(8000));
            var address = Ipv6Address.Parse("fd00:198:18::5");
            Assert.Equal(Ipv6AddressState.Preferred, a.Interface.Ipv6StateOf(address));
            Assert.Equal(Ipv6AddressState.Duplicate, b.Interface.Ipv6StateOf(address));
            Assert.Equal(1, b.Stats.DuplicateAddresses);
            Assert.True(a.Stats.NeighborAdvertisementsSent >= 1, "A did not defend its address");
        });
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    [InlineData(4UL)]
    [InlineData(5UL)]
    public void NeighborDiscovery_LossyLinks_PingStaticAddressResolvesWithRetries(ulong seed)
    {
        var network = new SimulatedNetwork(seed);
        var lossy = new LinkConditions(Loss: 0.3, Latency: Duration.FromMilliseconds(2));
        var a = StackNode.Add(network, "a", s_macA, "198.18.0.1/24", lossy, ipv6: "fd00:198:18::1/64");
        var b = StackNode.Add(network, "b", s_macB, "198.18.0.2/24", lossy, ipv6: "fd00:198:18::2/64");
        var target = Ipv6Address.Parse("fd00:198:18::2");
        PcapOnFailure.Run(network, () =>
        {
            // DAD may see a lost probe as "no duplicate": both addresses are preferred after it either way.
            network.RunUntil(Instant.FromMilliseconds(5000));
            Assert.Equal(Ipv6AddressState.Preferred, b.Interface.Ipv6StateOf(target));
            ushort sequence = 0;
            bool answered = false;
            for (int attempt = 0; attempt < 20 && !answered; attempt++)
            {
                a.Interface.SendEchoRequest(target, 5, ++sequence, "nd"u8, network.Now);
                answered = network.RunUntil(() => a.Interface.LastEchoReplyV6 is not null, Duration.FromSeconds(1));
            }

            Assert.True(answered, $"no echo reply: {a.Stats}");
            Assert.NotEqual(NeighborState.Free, a.Interface.Neighbors!.StateOf(target));
            Assert.InRange(a.Stats.NeighborSolicitationsSent, 2, 40);
        });
    }

    [Theory]
    [InlineData(41UL)]
    [InlineData(42UL)]
    [InlineData(43UL)]
    public void Fragments_BigPingReorderedAndDuplicated_ReassembledBothWays(ulong seed)
    {
        var network = new SimulatedNetwork(seed);
        var messy = new LinkConditions(Duplicate: 0.1, Reorder: 0.4, Latency: Duration.FromMilliseconds(3), Jitter: Duration.FromMilliseconds(2));
        var a = StackNode.Add(network, "a", s_macA, "198.18.0.1/24", messy, ipv6: "fd00:198:18::1/64");
        var b = StackNode.Add(network, "b", s_macB, "198.18.0.2/24", messy, ipv6: "fd00:198:18::2/64");
        var target = Ipv6Address.Parse("fd00:198:18::2");
        byte[] data = new byte[8000];
        new Random((int)seed).NextBytes(data);
        PcapOnFailure.Run(network, () =>
        {
            network.RunUntil(Instant.FromMilliseconds(3000));
            // The first try starts neighbour discovery (a packet over the MTU does not wait for it); the next goes.
            a.Interface.SendEchoRequest(target, 3, 1, data, network.Now);
            network.RunUntil(network.Now + Duration.FromSeconds(1));
            Assert.True(a.Interface.SendEchoRequest(target, 3, 2, data, network.Now));

            Assert.True(network.RunUntil(() => a.Interface.LastEchoReplyV6 is { Sequence: 2 }, Duration.FromSeconds(2)), $"a: {a.Stats}; b: {b.Stats}");
            Assert.True(b.Stats.DatagramsReassembled >= 1);
            Assert.True(a.Stats.DatagramsReassembled >= 1);
            Assert.True(b.Stats.FragmentsSent >= 6);
        });
    }

    [Fact]
    public void NeighborCache_FloodOfSolicitations_StaysBounded()
    {
        var cache = new NeighborCache(8);
        var now = Instant.Zero;
        for (int i = 0; i < 1000; i++)
        {
            cache.LearnFromSolicitation(new Ipv6Address(0xfe80_0000_0000_0000UL, (ulong)i + 1), new MacAddress((ulong)i + 0x0200_0000_0000UL), now);
            cache.StartResolving(new Ipv6Address(0xfd00_0000_0000_0000UL, (ulong)i + 1), new byte[100], now);
        }
        Assert.Equal(8, cache.Count);
        cache.Clear();
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void NeighborCache_ProbeUnanswered_GoesThroughDelayAndProbeThenForgets()
    {
        var cache = new NeighborCache(4);
        var ip = Ipv6Address.Parse("fe80::1");
        var mac = MacAddress.Parse("02:00:00:00:00:01");
        var now = Instant.Zero;
        cache.StartResolving(ip, new byte[60], now);
        Assert.True(cache.TryNextAction(now, out _, out var unicast, out _));
        Assert.Null(unicast);
        Assert.True(cache.LearnFromAdvertisement(ip, mac, solicited: true, overrideFlag: true, isRouter: false, now));
        Assert.Equal(NeighborState.Reachable, cache.StateOf(ip));
        Assert.True(cache.TryTakePending(ip, out _, out byte[] pending, out int length));
        Assert.Equal(60, length);
        NeighborCache.ReleasePending(pending);

        now += NeighborCache.DefaultReachableTime;
        Assert.True(cache.TryLookup(ip, now, out _));
        Assert.Equal(NeighborState.Delay, cache.StateOf(ip));
        now += NeighborCache.ProbeDelay;
        for (int i = 0; i < NeighborCache.MaxSolicitations; i++)
        {
            Assert.True(cache.TryNextAction(now, out _, out unicast, out bool failed));
            Assert.Equal(mac, unicast);
            Assert.False(failed);
            Assert.Equal(NeighborState.Probe, cache.StateOf(ip));
            now += NeighborCache.RetransmitInterval;
        }
        Assert.True(cache.TryNextAction(now, out _, out _, out _));
        Assert.Equal(NeighborState.Free, cache.StateOf(ip));
    }
}
