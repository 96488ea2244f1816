namespace Unisharp.Net.Dns;

/// <summary>
/// Answers by name until their TTL runs out, at most a fixed number of names: when full, expired entries go
/// first, then the one that would expire soonest. A negative entry (no such name, or no address) has no addresses.
/// Thread-safe: resolutions run on app threads.
/// </summary>
internal sealed class DnsCache(int capacity)
{
    internal readonly record struct Entry(Ipv4Address[] Addresses, Instant Expires, bool NameMissing);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    public bool TryGet(string name, Instant now, out Entry entry)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(name, out entry))
            {
                if (now < entry.Expires)
                {
                    return true;
                }
                _entries.Remove(name);
            }
            return false;
        }
    }

    public void Add(string name, Entry entry, Instant now)
    {
        if (capacity <= 0 || entry.Expires <= now)
        {
            return;
        }
        lock (_lock)
        {
            if (_entries.Count >= capacity && !_entries.ContainsKey(name))
            {
                string? victim = null;
                var soonest = Instant.Never;
                foreach (var (key, value) in _entries)
                {
                    if (victim is null || value.Expires < soonest)
                    {
                        (victim, soonest) = (key, value.Expires);
                    }
                }
                _entries.Remove(victim!);
            }
            _entries[name] = entry;
        }
    }
}
