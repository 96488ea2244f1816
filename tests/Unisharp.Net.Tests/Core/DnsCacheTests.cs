using Unisharp.Net.Dns;

namespace Unisharp.Net.Tests.Core;

public class DnsCacheTests
{
    private static readonly Ipv4Address[] s_one = [Ipv4Address.Parse("198.18.0.1")];

    [Fact]
    public void Add_Full_DropsTheEntryExpiringFirst()
    {
        var cache = new DnsCache(2);
        var now = Instant.FromMilliseconds(1000);
        cache.Add("a.test", new DnsCache.Entry(s_one, now + Duration.FromSeconds(60), false), now);
        cache.Add("b.test", new DnsCache.Entry(s_one, now + Duration.FromSeconds(10), false), now);

        cache.Add("c.test", new DnsCache.Entry(s_one, now + Duration.FromSeconds(30), false), now);

        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryGet("b.test", now, out _));
        Assert.True(cache.TryGet("A.TEST", now, out _));
        Assert.True(cache.TryGet("c.test", now, out _));
    }

    [Fact]
    public void TryGet_Expired_MissAndRemoved()
    {
        var cache = new DnsCache(4);
        var now = Instant.FromMilliseconds(1000);
        cache.Add("a.test", new DnsCache.Entry(s_one, now + Duration.FromSeconds(5), false), now);
        cache.Add("zero.test", new DnsCache.Entry(s_one, now, false), now);

        Assert.True(cache.TryGet("a.test", now + Duration.FromSeconds(4), out _));
        Assert.False(cache.TryGet("a.test", now + Duration.FromSeconds(5), out _));
        Assert.Equal(0, cache.Count);
    }
}
