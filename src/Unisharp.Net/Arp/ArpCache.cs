namespace Unisharp.Net.Arp;

/// <summary>
/// The neighbour table (RFC 826, RFC 1122 §2.3.2): IPv4 to MAC mappings with a lifetime, and resolutions
/// in progress with retries on a doubling back-off. Fixed capacity: when full, the entry closest to
/// expiry is evicted, so a flood of ARP packets cannot grow it.
/// </summary>
internal sealed class ArpCache
{
    /// <summary>RFC 1122 §2.3.2.1 suggests a timeout "on the order of a minute".</summary>
    public static readonly Duration DefaultLifetime = Duration.FromSeconds(60);
    /// <summary>RFC 1122 §2.3.2.1: at most one request per second to one destination.</summary>
    public static readonly Duration InitialRetry = Duration.FromSeconds(1);
    public static readonly Duration MaxRetry = Duration.FromSeconds(4);
    public const int MaxAttempts = 5;

    private enum State : byte
    {
        Free,
        Incomplete,
        Reachable,
    }

    private struct Entry
    {
        public Ipv4Address Ip;
        public MacAddress Mac;
        public State State;
        /// <summary>Reachable: when the mapping expires. Incomplete: when the next request is due.</summary>
        public Instant Deadline;
        public int Attempts;
    }

    private readonly Entry[] _entries;
    private readonly Duration _lifetime;

    public ArpCache(int capacity = 64, Duration? lifetime = null)
    {
        _entries = new Entry[capacity];
        _lifetime = lifetime ?? DefaultLifetime;
    }

    public int Capacity => _entries.Length;

    /// <summary>How many entries are in use (for tests of the bound).</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (ref readonly var e in _entries.AsSpan())
            {
                n += e.State == State.Free ? 0 : 1;
            }
            return n;
        }
    }

    public bool TryLookup(Ipv4Address ip, Instant now, out MacAddress mac)
    {
        int i = Find(ip);
        if (i >= 0 && _entries[i].State == State.Reachable && now < _entries[i].Deadline)
        {
            mac = _entries[i].Mac;
            return true;
        }
        mac = default;
        return false;
    }

    /// <summary>True when a resolution for <paramref name="ip"/> is in progress.</summary>
    public bool IsResolving(Ipv4Address ip)
    {
        int i = Find(ip);
        return i >= 0 && _entries[i].State == State.Incomplete;
    }

    /// <summary>
    /// Records <paramref name="ip"/> at <paramref name="mac"/>. With <paramref name="create"/> false only an existing
    /// entry is refreshed (RFC 826's merge step). Returns true when this completed a resolution in progress.
    /// </summary>
    public bool Update(Ipv4Address ip, MacAddress mac, Instant now, bool create)
    {
        int i = Find(ip);
        if (i < 0)
        {
            if (!create)
            {
                return false;
            }
            i = Allocate(now);
            _entries[i].Ip = ip;
            _entries[i].State = State.Free;
        }
        bool completed = _entries[i].State == State.Incomplete;
        _entries[i].Mac = mac;
        _entries[i].State = State.Reachable;
        _entries[i].Deadline = now + _lifetime;
        _entries[i].Attempts = 0;
        return completed;
    }

    /// <summary>Starts resolving <paramref name="ip"/> unless that is already under way; the first request is due at once.</summary>
    public void StartResolving(Ipv4Address ip, Instant now)
    {
        int i = Find(ip);
        if (i >= 0 && _entries[i].State == State.Incomplete)
        {
            return;
        }
        if (i < 0)
        {
            i = Allocate(now);
        }
        _entries[i] = new Entry { Ip = ip, State = State.Incomplete, Deadline = now, Attempts = 0 };
    }

    /// <summary>Forgets <paramref name="ip"/> (after a conflict, or when the address changes).</summary>
    public void Remove(Ipv4Address ip)
    {
        int i = Find(ip);
        if (i >= 0)
        {
            _entries[i] = default;
        }
    }

    public void Clear() => Array.Clear(_entries);

    /// <summary>
    /// The next thing to do at <paramref name="now"/>: send a request for <paramref name="target"/>, or give up on it
    /// (<paramref name="failed"/>). Call until it returns false.
    /// </summary>
    public bool TryNextAction(Instant now, out Ipv4Address target, out bool failed)
    {
        for (int i = 0; i < _entries.Length; i++)
        {
            ref var e = ref _entries[i];
            if (e.State == State.Reachable && now >= e.Deadline)
            {
                e = default;
                continue;
            }
            if (e.State != State.Incomplete || now < e.Deadline)
            {
                continue;
            }
            target = e.Ip;
            if (e.Attempts >= MaxAttempts)
            {
                e = default;
                failed = true;
                return true;
            }
            // Back-off: 1 s, 2 s, 4 s, 4 s ... between requests.
            long factor = 1L << Math.Min(e.Attempts, 16);
            e.Deadline = now + Duration.Min(InitialRetry * factor, MaxRetry);
            e.Attempts++;
            failed = false;
            return true;
        }
        target = default;
        failed = false;
        return false;
    }

    /// <summary>When <see cref="TryNextAction"/> next has something to do (retries and failures; expiry is lazy).</summary>
    public Instant PollAt()
    {
        var at = Instant.Never;
        foreach (ref readonly var e in _entries.AsSpan())
        {
            if (e.State == State.Incomplete)
            {
                at = Instant.Min(at, e.Deadline);
            }
        }
        return at;
    }

    private int Find(Ipv4Address ip)
    {
        for (int i = 0; i < _entries.Length; i++)
        {
            if (_entries[i].State != State.Free && _entries[i].Ip == ip)
            {
                return i;
            }
        }
        return -1;
    }

    private int Allocate(Instant now)
    {
        int victim = -1;
        for (int i = 0; i < _entries.Length; i++)
        {
            ref var e = ref _entries[i];
            if (e.State == State.Free || (e.State == State.Reachable && now >= e.Deadline))
            {
                e = default;
                return i;
            }
            // Prefer evicting a resolved mapping (it can be learnt again) over a resolution in progress.
            if (victim < 0 || Rank(e) < Rank(_entries[victim]))
            {
                victim = i;
            }
        }
        _entries[victim] = default;
        return victim;
    }

    private static long Rank(in Entry e) => (e.State == State.Reachable ? long.MinValue / 2 : 0) + e.Deadline.Microseconds / 2;
}
