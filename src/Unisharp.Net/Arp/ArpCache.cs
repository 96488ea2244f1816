namespace Unisharp.Net.Arp;

/// <summary>
/// The neighbour table (RFC 826, RFC 1122 §2.3.2): IPv4 to MAC mappings with a lifetime, and resolutions
/// in progress with retries on a doubling back-off. Fixed capacity: when full, the entry closest to
/// expiry is evicted, so a flood of ARP packets cannot grow it.
/// A mapping is trusted for a short reachable time after a reply to our request confirmed it; used after that (or
/// after an unsolicited ARP changed it), it is re-checked as Linux's STALE, DELAY and PROBE states do (RFC 1122
/// §2.3.2.1's "unicast poll"): still used for a delay, then unicast requests to the MAC it holds, and forgotten when
/// none is answered, so a poisoned entry gives way to a fresh broadcast resolution.
/// </summary>
internal sealed class ArpCache
{
    /// <summary>RFC 1122 §2.3.2.1 suggests a timeout "on the order of a minute".</summary>
    public static readonly Duration DefaultLifetime = Duration.FromSeconds(60);
    /// <summary>RFC 1122 §2.3.2.1: at most one request per second to one destination.</summary>
    public static readonly Duration InitialRetry = Duration.FromSeconds(1);
    public static readonly Duration MaxRetry = Duration.FromSeconds(4);
    public const int MaxAttempts = 5;
    /// <summary>How long a confirmed mapping is used without a check (Linux: 15-45 s).</summary>
    public static readonly Duration DefaultReachableTime = Duration.FromSeconds(15);
    /// <summary>Linux's delay_first_probe_time: a stale mapping in use is probed this long after its first use.</summary>
    public static readonly Duration ProbeDelay = Duration.FromSeconds(5);
    /// <summary>Linux's ucast_solicit: unicast probes, a second apart, before a stale mapping is forgotten.</summary>
    public const int MaxProbes = 3;
    private static readonly Duration s_probeInterval = Duration.FromSeconds(1);

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
        /// <summary>Reachable: when the mapping needs checking before more use.</summary>
        public Instant StaleAt;
        /// <summary>Reachable and stale in use: when the next unicast probe is due (or <see cref="Instant.Never"/>).</summary>
        public Instant ProbeAt;
    }

    private readonly Entry[] _entries;
    private readonly Duration _lifetime;
    private readonly Duration _reachableTime;

    public ArpCache(int capacity = 64, Duration? lifetime = null, Duration? reachableTime = null)
    {
        _entries = new Entry[capacity];
        _lifetime = lifetime ?? DefaultLifetime;
        _reachableTime = reachableTime ?? DefaultReachableTime;
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

    /// <summary>The mapping for <paramref name="ip"/>; a stale one is still returned, and its check starts (after <see cref="ProbeDelay"/>).</summary>
    public bool TryLookup(Ipv4Address ip, Instant now, out MacAddress mac)
    {
        int i = Find(ip);
        if (i >= 0 && _entries[i].State == State.Reachable && now < _entries[i].Deadline)
        {
            ref var e = ref _entries[i];
            if (now >= e.StaleAt && e.ProbeAt == Instant.Never)
            {
                e.ProbeAt = now + ProbeDelay;
                e.Attempts = 0;
            }
            mac = e.Mac;
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
    /// entry is refreshed (RFC 826's merge step). <paramref name="confirmed"/> says the packet was a reply addressed to
    /// us: only that, while we probe, makes a known mapping reachable again; any other that changes the MAC leaves it
    /// stale (checked at its next use) and one that repeats it changes nothing but the lifetime. Returns true when this completed a
    /// resolution in progress.
    /// </summary>
    public bool Update(Ipv4Address ip, MacAddress mac, Instant now, bool create, bool confirmed = true)
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
        ref var e = ref _entries[i];
        bool completed = e.State == State.Incomplete;
        bool known = e.State == State.Reachable;
        bool changed = known && e.Mac != mac;
        // Only a reply to our own probe confirms a known mapping; one nobody asked for may be a poisoner's.
        bool solicited = confirmed && e.ProbeAt != Instant.Never;
        e.Mac = mac;
        e.State = State.Reachable;
        e.Deadline = now + _lifetime;
        if (!known || solicited)
        {
            e.StaleAt = now + _reachableTime;
            e.ProbeAt = Instant.Never;
            e.Attempts = 0;
        }
        else if (changed)
        {
            e.StaleAt = now;
            e.ProbeAt = Instant.Never;
            e.Attempts = 0;
        }
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
    /// The next thing to do at <paramref name="now"/>: send a request for <paramref name="target"/> to
    /// <paramref name="destination"/> (broadcast to resolve, the MAC held to probe a stale mapping), or give up on a
    /// resolution (<paramref name="failed"/>). Call until it returns false.
    /// </summary>
    public bool TryNextAction(Instant now, out Ipv4Address target, out MacAddress destination, out bool failed)
    {
        destination = MacAddress.Broadcast;
        for (int i = 0; i < _entries.Length; i++)
        {
            ref var e = ref _entries[i];
            if (e.State == State.Reachable && now >= e.Deadline)
            {
                e = default;
                continue;
            }
            if (e.State == State.Reachable && now >= e.ProbeAt)
            {
                if (e.Attempts >= MaxProbes)
                {
                    // Nobody answers at that MAC: forget it; the next datagram resolves afresh by broadcast.
                    e = default;
                    continue;
                }
                target = e.Ip;
                destination = e.Mac;
                e.ProbeAt = now + s_probeInterval;
                e.Attempts++;
                failed = false;
                return true;
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
            else if (e.State == State.Reachable)
            {
                at = Instant.Min(at, e.ProbeAt);
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
