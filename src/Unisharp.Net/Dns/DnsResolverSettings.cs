namespace Unisharp.Net.Dns;

/// <summary>The stub resolver's timers and limits.</summary>
internal sealed record DnsResolverSettings
{
    /// <summary>How long the first UDP query waits for its answer; each retry waits twice as long as the one before.</summary>
    public Duration Timeout { get; init; } = Duration.FromSeconds(1);

    /// <summary>UDP queries sent for one name before giving up (1 s + 2 s + 4 s by default).</summary>
    public int Attempts { get; init; } = 3;

    /// <summary>How long a query over TCP (after a truncated answer) may take, connection included.</summary>
    public Duration TcpTimeout { get; init; } = Duration.FromSeconds(5);

    /// <summary>CNAMEs followed from the name asked before giving up (a loop ends here too).</summary>
    public int MaxCNameHops { get; init; } = 8;

    /// <summary>Names kept in the cache; the one expiring first is dropped when it is full.</summary>
    public int CacheEntries { get; init; } = 256;

    /// <summary>The longest an answer is kept, whatever its TTL (RFC 8767 §4 suggests a day at most).</summary>
    public Duration MaxTtl { get; init; } = Duration.FromSeconds(86_400);

    /// <summary>The longest a negative answer is kept (RFC 2308 §5 suggests one to three hours at most).</summary>
    public Duration MaxNegativeTtl { get; init; } = Duration.FromSeconds(3_600);
}
