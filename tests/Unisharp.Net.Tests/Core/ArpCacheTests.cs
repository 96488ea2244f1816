using Unisharp.Net.Arp;

namespace Unisharp.Net.Tests.Core;

public class ArpCacheTests
{
    private static readonly Ipv4Address s_peer = Ipv4Address.Parse("198.18.0.2");
    private static readonly MacAddress s_mac = MacAddress.Parse("02:00:00:00:00:0b");

    [Fact]
    public void Update_WithCreate_LookupFindsUntilLifetimeEnds()
    {
        var cache = new ArpCache(4, Duration.FromSeconds(60));
        cache.Update(s_peer, s_mac, Instant.Zero, create: true);

        Assert.True(cache.TryLookup(s_peer, Instant.FromMilliseconds(59_999), out var mac));
        Assert.Equal(s_mac, mac);
        Assert.False(cache.TryLookup(s_peer, Instant.FromMilliseconds(60_000), out _));
    }

    [Fact]
    public void Update_WithoutCreate_OnlyRefreshesExisting()
    {
        var cache = new ArpCache(4);

        Assert.False(cache.Update(s_peer, s_mac, Instant.Zero, create: false));
        Assert.False(cache.TryLookup(s_peer, Instant.Zero, out _));
    }

    [Fact]
    public void TryNextAction_Unanswered_RetriesWithBackOffThenFails()
    {
        var cache = new ArpCache(4);
        cache.StartResolving(s_peer, Instant.Zero);
        var requests = new List<long>();
        var now = Instant.Zero;
        bool failedAt = false;
        while (!failedAt && now < Instant.FromMilliseconds(60_000))
        {
            while (cache.TryNextAction(now, out var target, out _, out bool failed))
            {
                Assert.Equal(s_peer, target);
                if (failed)
                {
                    failedAt = true;
                    break;
                }
                requests.Add(now.TotalMilliseconds);
            }
            now = cache.PollAt() == Instant.Never ? now : cache.PollAt();
        }

        Assert.True(failedAt);
        // Five requests: at once, then after 1 s, 2 s, 4 s and 4 s (capped).
        Assert.Equal([0L, 1000, 3000, 7000, 11000], requests);
        Assert.Equal(15_000, now.TotalMilliseconds);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Update_WhileResolving_CompletesResolution()
    {
        var cache = new ArpCache(4);
        cache.StartResolving(s_peer, Instant.Zero);

        Assert.True(cache.Update(s_peer, s_mac, Instant.Zero, create: false));
        Assert.False(cache.IsResolving(s_peer));
        Assert.True(cache.TryLookup(s_peer, Instant.Zero, out _));
        Assert.Equal(Instant.Never, cache.PollAt());
    }

    [Fact]
    public void Update_MoreThanCapacity_EvictsOldestAndStaysBounded()
    {
        var cache = new ArpCache(8);
        for (uint i = 0; i < 100; i++)
        {
            cache.Update(new Ipv4Address(0xC6120000 + i), new MacAddress(0x020000000000UL + i), Instant.FromMilliseconds(i), create: true);
        }

        Assert.Equal(8, cache.Count);
        Assert.True(cache.TryLookup(new Ipv4Address(0xC6120000 + 99), Instant.FromMilliseconds(100), out _));
        Assert.False(cache.TryLookup(new Ipv4Address(0xC6120000), Instant.FromMilliseconds(100), out _));
    }

    private static readonly MacAddress s_poison = MacAddress.Parse("02:00:00:00:00:66");

    /// <summary>Runs the cache's actions from <paramref name="from"/> to <paramref name="to"/>; returns the (time, destination) of each request.</summary>
    private static List<(long At, MacAddress To)> Requests(ArpCache cache, Instant from, Instant to)
    {
        var requests = new List<(long, MacAddress)>();
        for (var now = from; now <= to; now += Duration.FromMilliseconds(100))
        {
            while (cache.TryNextAction(now, out _, out var destination, out bool failed))
            {
                Assert.False(failed);
                requests.Add((now.TotalMilliseconds, destination));
            }
        }
        return requests;
    }

    [Fact]
    public void Lookup_StaleAndUnanswered_UnicastProbesThenForgotten()
    {
        var cache = new ArpCache(4);
        cache.Update(s_peer, s_mac, Instant.Zero, create: true);

        Assert.Empty(Requests(cache, Instant.Zero, Instant.FromMilliseconds(16_000)));
        // Used after the reachable time: still used, and checked after the delay.
        Assert.True(cache.TryLookup(s_peer, Instant.FromMilliseconds(16_000), out _));
        var probes = Requests(cache, Instant.FromMilliseconds(16_000), Instant.FromMilliseconds(25_000));

        Assert.Equal([(21_000L, s_mac), (22_000L, s_mac), (23_000L, s_mac)], probes);
        Assert.False(cache.TryLookup(s_peer, Instant.FromMilliseconds(25_000), out _));
    }

    [Fact]
    public void Update_UnsolicitedChangedMac_CheckedAtNextUse()
    {
        var cache = new ArpCache(4);
        cache.Update(s_peer, s_mac, Instant.Zero, create: true);

        // A poisoning reply nobody asked for: taken, but not trusted.
        cache.Update(s_peer, s_poison, Instant.FromMilliseconds(1_000), create: false, confirmed: false);
        Assert.True(cache.TryLookup(s_peer, Instant.FromMilliseconds(1_000), out var mac));
        Assert.Equal(s_poison, mac);
        // The poisoner repeats itself: that confirms nothing.
        cache.Update(s_peer, s_poison, Instant.FromMilliseconds(3_000), create: false, confirmed: false);
        var probes = Requests(cache, Instant.FromMilliseconds(1_000), Instant.FromMilliseconds(10_000));

        Assert.Equal([(6_000L, s_poison), (7_000L, s_poison), (8_000L, s_poison)], probes);
        Assert.False(cache.TryLookup(s_peer, Instant.FromMilliseconds(10_000), out _));
    }

    [Fact]
    public void Update_ReplyToProbe_ReachableAgain()
    {
        var cache = new ArpCache(4);
        cache.Update(s_peer, s_mac, Instant.Zero, create: true);
        Assert.True(cache.TryLookup(s_peer, Instant.FromMilliseconds(20_000), out _));
        Assert.Single(Requests(cache, Instant.FromMilliseconds(20_000), Instant.FromMilliseconds(25_000)));

        cache.Update(s_peer, s_mac, Instant.FromMilliseconds(25_100), create: false, confirmed: true);

        Assert.Empty(Requests(cache, Instant.FromMilliseconds(25_100), Instant.FromMilliseconds(40_000)));
        Assert.True(cache.TryLookup(s_peer, Instant.FromMilliseconds(40_000), out _));
    }
}
