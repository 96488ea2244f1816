using System.Buffers;

namespace Unisharp.Net.Ndp;

/// <summary>
/// The IPv6 neighbour cache (RFC 4861 §7.3): IPv6 to MAC mappings in the states INCOMPLETE, REACHABLE, STALE, DELAY
/// and PROBE, with the timers of RFC 4861 §10. Fixed capacity as the ARP cache: when full, a stale mapping is evicted
/// before a fresh one, and a resolution in progress last. Each resolution in progress holds the last packet waiting
/// for it (RFC 4861 §7.2.2: at least one), in a buffer from the shared pool.
/// </summary>
internal sealed class NeighborCache
{
    /// <summary>RFC 4861 §10: MAX_MULTICAST_SOLICIT and MAX_UNICAST_SOLICIT.</summary>
    public const int MaxSolicitations = 3;
    /// <summary>RFC 4861 §10: RETRANS_TIMER.</summary>
    public static readonly Duration RetransmitInterval = Duration.FromSeconds(1);
    /// <summary>RFC 4861 §10: REACHABLE_TIME (Linux draws 15-45 s around it; we keep it fixed).</summary>
    public static readonly Duration DefaultReachableTime = Duration.FromSeconds(30);
    /// <summary>RFC 4861 §10: DELAY_FIRST_PROBE_TIME.</summary>
    public static readonly Duration ProbeDelay = Duration.FromSeconds(5);
    /// <summary>A stale mapping unused this long is forgotten (Linux's gc_stale_time is 60 s).</summary>
    public static readonly Duration StaleLifetime = Duration.FromSeconds(60);

    private struct Entry
    {
        public Ipv6Address Ip;
        public MacAddress Mac;
        public NeighborState State;
        public bool IsRouter;
        /// <summary>Incomplete, Probe: the next solicitation. Delay: when probing starts. Reachable: when it goes stale. Stale: when it is forgotten.</summary>
        public Instant Deadline;
        public int Solicitations;
        public byte[]? Pending;
        public int PendingLength;
    }

    private readonly Entry[] _entries;
    private Duration _reachableTime;

    public NeighborCache(int capacity = 64) => _entries = new Entry[capacity];

    public int Capacity => _entries.Length;

    /// <summary>RFC 4861 §6.3.4: a router advertisement may set it.</summary>
    public Duration ReachableTime
    {
        get => _reachableTime == Duration.Zero ? DefaultReachableTime : _reachableTime;
        set => _reachableTime = value;
    }

    public int Count
    {
        get
        {
            int n = 0;
            foreach (ref readonly var e in _entries.AsSpan())
            {
                n += e.State == NeighborState.Free ? 0 : 1;
            }
            return n;
        }
    }

    public NeighborState StateOf(Ipv6Address ip)
    {
        int i = Find(ip);
        return i < 0 ? NeighborState.Free : _entries[i].State;
    }

    /// <summary>
    /// The MAC to send to <paramref name="ip"/>: any state but INCOMPLETE has one. Sending to a STALE neighbour moves it
    /// to DELAY (RFC 4861 §7.3.3).
    /// </summary>
    public bool TryLookup(Ipv6Address ip, Instant now, out MacAddress mac)
    {
        mac = default;
        int i = Find(ip);
        if (i < 0)
        {
            return false;
        }
        ref var e = ref _entries[i];
        if (e.State == NeighborState.Reachable && now >= e.Deadline)
        {
            e.State = NeighborState.Stale;
        }
        if (e.State == NeighborState.Incomplete)
        {
            return false;
        }
        if (e.State == NeighborState.Stale)
        {
            e.State = NeighborState.Delay;
            e.Deadline = now + ProbeDelay;
        }
        mac = e.Mac;
        return true;
    }

    /// <summary>Upper-layer confirmation (RFC 4861 §7.3.1), e.g. a TCP acknowledgement: the neighbour is reachable.</summary>
    public void Confirm(Ipv6Address ip, Instant now)
    {
        int i = Find(ip);
        if (i >= 0 && _entries[i].State is not (NeighborState.Incomplete or NeighborState.Free))
        {
            _entries[i].State = NeighborState.Reachable;
            _entries[i].Deadline = now + ReachableTime;
            _entries[i].Solicitations = 0;
        }
    }

    /// <summary>
    /// Starts resolving <paramref name="ip"/> (the first solicitation is due at once) and keeps <paramref name="packet"/>
    /// to send when it completes (unless empty), replacing an older one. False when it is already being resolved and only the packet was kept.
    /// </summary>
    public bool StartResolving(Ipv6Address ip, ReadOnlySpan<byte> packet, Instant now)
    {
        int i = Find(ip);
        bool started = i < 0 || _entries[i].State != NeighborState.Incomplete;
        if (i < 0)
        {
            i = Allocate(now);
        }
        ref var e = ref _entries[i];
        if (started)
        {
            Release(ref e);
            e = new Entry { Ip = ip, State = NeighborState.Incomplete, Deadline = now, Solicitations = 0 };
        }
        if (packet.IsEmpty)
        {
            return started;
        }
        if (e.Pending is null || e.Pending.Length < packet.Length)
        {
            if (e.Pending is not null)
            {
                ArrayPool<byte>.Shared.Return(e.Pending);
            }
            e.Pending = ArrayPool<byte>.Shared.Rent(packet.Length);
        }
        packet.CopyTo(e.Pending);
        e.PendingLength = packet.Length;
        return started;
    }

    /// <summary>
    /// A neighbor solicitation or router message from <paramref name="ip"/> carried its link-layer address
    /// (RFC 4861 §7.2.3, §6.3.4): an entry is created STALE, or made STALE when the MAC changed.
    /// </summary>
    public void LearnFromSolicitation(Ipv6Address ip, MacAddress mac, Instant now, bool isRouter = false)
    {
        int i = Find(ip);
        if (i < 0)
        {
            i = Allocate(now);
            _entries[i] = new Entry { Ip = ip, Mac = mac, State = NeighborState.Stale, Deadline = now + StaleLifetime, IsRouter = isRouter };
            return;
        }
        ref var e = ref _entries[i];
        e.IsRouter |= isRouter;
        if (e.State == NeighborState.Incomplete)
        {
            e.Mac = mac;
            e.State = NeighborState.Stale;
            e.Deadline = now + StaleLifetime;
        }
        else if (e.Mac != mac)
        {
            e.Mac = mac;
            e.State = NeighborState.Stale;
            e.Deadline = now + StaleLifetime;
        }
    }

    /// <summary>A neighbor advertisement for <paramref name="ip"/> (RFC 4861 §7.2.5). Returns false when there was no entry (it is ignored).</summary>
    public bool LearnFromAdvertisement(Ipv6Address ip, MacAddress? mac, bool solicited, bool overrideFlag, bool isRouter, Instant now)
    {
        int i = Find(ip);
        if (i < 0)
        {
            return false;
        }
        ref var e = ref _entries[i];
        if (e.State == NeighborState.Incomplete)
        {
            if (mac is not { } learnt)
            {
                return true;
            }
            e.Mac = learnt;
            e.IsRouter = isRouter;
            e.Solicitations = 0;
            e.State = solicited ? NeighborState.Reachable : NeighborState.Stale;
            e.Deadline = now + (solicited ? ReachableTime : StaleLifetime);
            return true;
        }
        bool changed = mac is { } m && m != e.Mac;
        if (!overrideFlag && changed)
        {
            // RFC 4861 §7.2.5: without the override flag a different address only casts doubt on the one we hold.
            if (e.State == NeighborState.Reachable)
            {
                e.State = NeighborState.Stale;
                e.Deadline = now + StaleLifetime;
            }
            return true;
        }
        if (mac is { } newMac)
        {
            e.Mac = newMac;
        }
        e.IsRouter = isRouter;
        if (solicited)
        {
            e.State = NeighborState.Reachable;
            e.Deadline = now + ReachableTime;
            e.Solicitations = 0;
        }
        else if (changed)
        {
            e.State = NeighborState.Stale;
            e.Deadline = now + StaleLifetime;
        }
        return true;
    }

    /// <summary>The packet waiting for <paramref name="ip"/>, now that it resolved; give the buffer back with <see cref="ReleasePending"/>.</summary>
    public bool TryTakePending(Ipv6Address ip, out MacAddress mac, out byte[] packet, out int length)
    {
        mac = default;
        packet = [];
        length = 0;
        int i = Find(ip);
        if (i < 0 || _entries[i].Pending is null || _entries[i].State == NeighborState.Incomplete)
        {
            return false;
        }
        ref var e = ref _entries[i];
        mac = e.Mac;
        packet = e.Pending!;
        length = e.PendingLength;
        e.Pending = null;
        e.PendingLength = 0;
        return true;
    }

    public static void ReleasePending(byte[] packet) => ArrayPool<byte>.Shared.Return(packet);

    public void Remove(Ipv6Address ip)
    {
        int i = Find(ip);
        if (i >= 0)
        {
            Release(ref _entries[i]);
            _entries[i] = default;
        }
    }

    public void Clear()
    {
        for (int i = 0; i < _entries.Length; i++)
        {
            Release(ref _entries[i]);
            _entries[i] = default;
        }
    }

    /// <summary>
    /// The next solicitation due at <paramref name="now"/>: for <paramref name="target"/>, multicast (to its
    /// solicited-node group) when <paramref name="unicast"/> is null, else to that MAC; or a resolution that failed
    /// (<paramref name="failed"/>, its waiting packet dropped). Call until it returns false.
    /// </summary>
    public bool TryNextAction(Instant now, out Ipv6Address target, out MacAddress? unicast, out bool failed)
    {
        target = default;
        unicast = null;
        failed = false;
        for (int i = 0; i < _entries.Length; i++)
        {
            ref var e = ref _entries[i];
            if (e.State == NeighborState.Free || now < e.Deadline)
            {
                continue;
            }
            switch (e.State)
            {
                case NeighborState.Reachable:
                    e.State = NeighborState.Stale;
                    e.Deadline = now + StaleLifetime;
                    continue;
                case NeighborState.Stale:
                    e = default;
                    continue;
                case NeighborState.Delay:
                    e.State = NeighborState.Probe;
                    e.Solicitations = 0;
                    break;
            }
            target = e.Ip;
            if (e.Solicitations == MaxSolicitations)
            {
                // RFC 4861 §7.3.3: no answer to the last probe: the entry goes (and with it what waited).
                failed = e.State == NeighborState.Incomplete;
                Release(ref e);
                e = default;
                return true;
            }
            e.Solicitations++;
            e.Deadline = now + RetransmitInterval;
            unicast = e.State == NeighborState.Probe ? e.Mac : null;
            return true;
        }
        return false;
    }

    public Instant PollAt()
    {
        var at = Instant.Never;
        foreach (ref readonly var e in _entries.AsSpan())
        {
            if (e.State != NeighborState.Free)
            {
                at = Instant.Min(at, e.Deadline);
            }
        }
        return at;
    }

    private static void Release(ref Entry e)
    {
        if (e.Pending is not null)
        {
            ArrayPool<byte>.Shared.Return(e.Pending);
            e.Pending = null;
        }
    }

    private int Find(Ipv6Address ip)
    {
        for (int i = 0; i < _entries.Length; i++)
        {
            if (_entries[i].State != NeighborState.Free && _entries[i].Ip == ip)
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
            if (e.State == NeighborState.Free)
            {
                return i;
            }
            if (victim < 0 || Rank(e) < Rank(_entries[victim]))
            {
                victim = i;
            }
        }
        Release(ref _entries[victim]);
        _entries[victim] = default;
        return victim;
    }

    /// <summary>Lowest goes first: stale mappings, then others by deadline; a resolution in progress last; routers after hosts.</summary>
    private static long Rank(in Entry e) =>
        (e.State switch { NeighborState.Stale => 0L, NeighborState.Incomplete => 2L, _ => 1L } << 60)
        + (e.IsRouter ? 1L << 58 : 0) + Math.Clamp(e.Deadline.Microseconds, 0, 1L << 57);
}
