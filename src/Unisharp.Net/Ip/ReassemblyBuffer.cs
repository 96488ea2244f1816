using System.Buffers;
using System.Numerics;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Ip;

/// <summary>
/// IPv4 and IPv6 fragment reassembly (RFC 8200 §4.5) with the hole-descriptor list of RFC 815, bounded in the number of datagrams
/// reassembled at once, in the bytes their buffers hold, in holes per datagram and in time (RFC 791 §3.2
/// suggests a timer of about 15 s; we use 30 s, as Linux does). A fragment that overlaps bytes already held
/// discards the whole datagram (overlaps serve only to evade filters, as RFC 5722 argues for IPv6); an exact
/// repeat is ignored. Buffers are rented from the shared pool, grown as fragments reach further into the
/// datagram, and returned when it completes or is discarded.
/// </summary>
internal sealed class ReassemblyBuffer
{
    public static readonly Duration DefaultTimeout = Duration.FromSeconds(30);
    public const int MaxHoles = 16;
    /// <summary>The default bound on the bytes held by all datagrams in reassembly.</summary>
    public const int DefaultMaxBytes = 1024 * 1024;
    private const int MinBufferLength = 2048;

    /// <summary>RFC 815's "infinity": the end of a datagram whose last fragment has not come.</summary>
    private const int Infinity = int.MaxValue;

    private struct Hole
    {
        public int First;
        public int Last;
    }

    private sealed class Datagram
    {
        public bool Used;
        public FragmentKey Key;
        public Instant Deadline;
        public byte[]? Buffer;
        public readonly Hole[] Holes = new Hole[MaxHoles];
        public int HoleCount;
        /// <summary>The length once the last fragment (MF = 0) arrived, else -1.</summary>
        public int TotalLength;
        public byte TimeToLive;

        public bool Matches(in FragmentKey key) => Used && Key == key;
    }

    /// <summary>
    /// What identifies a datagram's fragments: addresses (IPv4 ones as IPv4-mapped), identification and protocol (for
    /// IPv6, the next header after the fragment header).
    /// </summary>
    public readonly record struct FragmentKey(Ipv6Address Source, Ipv6Address Destination, uint Identification, IpProtocol Protocol)
    {
        public static FragmentKey FromIpv4(in Ipv4Repr ip) =>
            new(new Ipv6Address(0, 0xFFFF_0000_0000UL | ip.Source.Value), new Ipv6Address(0, 0xFFFF_0000_0000UL | ip.Destination.Value),
                ip.Identification, ip.Protocol);
    }

    private readonly Datagram[] _datagrams;
    private readonly Duration _timeout;
    private readonly int _maxBytes;
    private int _bytesHeld;
    private Datagram? _completed;

    public ReassemblyBuffer(int capacity = 16, Duration? timeout = null, int maxBytes = DefaultMaxBytes)
    {
        _maxBytes = maxBytes;
        _datagrams = new Datagram[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _datagrams[i] = new Datagram();
        }
        _timeout = timeout ?? DefaultTimeout;
    }

    /// <summary>The bytes the buffers of datagrams in reassembly hold (for tests of the bound).</summary>
    public int BytesHeld => _bytesHeld;

    /// <summary>How many datagrams are being reassembled (for tests of the bound).</summary>
    public int InProgress
    {
        get
        {
            int n = 0;
            foreach (var d in _datagrams)
            {
                n += d.Used ? 1 : 0;
            }
            return n;
        }
    }

    /// <summary>Adds one fragment (<paramref name="ip"/> describes it; <paramref name="payload"/> is its data).</summary>
    public ReassemblyResult Add(in Ipv4Repr ip, ReadOnlySpan<byte> payload, Instant now) =>
        Add(FragmentKey.FromIpv4(ip), ip.FragmentOffset, ip.MoreFragments, ip.TimeToLive, payload, now);

    /// <summary>Adds one fragment of the datagram <paramref name="key"/>: <paramref name="payload"/> at <paramref name="offset"/> bytes.</summary>
    public ReassemblyResult Add(in FragmentKey key, int offset, bool moreFragments, byte timeToLive, ReadOnlySpan<byte> payload, Instant now)
    {
        ReleaseCompleted();
        var d = FindOrStart(key, now);
        if (d is null)
        {
            return ReassemblyResult.NoRoom;
        }
        var ip = (MoreFragments: moreFragments, TimeToLive: timeToLive);
        int first = offset;
        int last = first + payload.Length - 1;
        if (payload.Length == 0)
        {
            // An empty last fragment only fixes the length: it must not cut into held bytes.
            last = first - 1;
        }
        if (d.TotalLength >= 0 && (last >= d.TotalLength || (!ip.MoreFragments && last + 1 != d.TotalLength)))
        {
            Discard(d);
            return ReassemblyResult.Overlap;
        }

        // RFC 815 §3: find the hole the fragment falls in. Unlike RFC 815 we accept a fragment only
        // when it lies entirely within one hole; otherwise it overlaps bytes we hold.
        int hole = -1;
        bool touchesHole = false;
        for (int h = 0; h < d.HoleCount; h++)
        {
            var hd = d.Holes[h];
            if (first >= hd.First && last <= hd.Last)
            {
                hole = h;
                break;
            }
            if (first <= hd.Last && last >= hd.First)
            {
                touchesHole = true;
            }
        }
        if (hole < 0)
        {
            if (touchesHole || payload.Length == 0 && ip.MoreFragments)
            {
                Discard(d);
                return ReassemblyResult.Overlap;
            }
            if (!ip.MoreFragments && d.TotalLength < 0)
            {
                // A last fragment whose bytes we hold, though we never saw the end: contradictory.
                Discard(d);
                return ReassemblyResult.Overlap;
            }
            return ReassemblyResult.Duplicate;
        }

        var found = d.Holes[hole];
        if (!ip.MoreFragments && found.Last != Infinity)
        {
            // A finite hole is followed by bytes we hold, so the datagram cannot end inside it.
            Discard(d);
            return ReassemblyResult.Overlap;
        }
        // Replace the hole by what is left of it on either side (RFC 815 §3 steps 5 and 6).
        d.Holes[hole] = d.Holes[--d.HoleCount];
        if (first > found.First && !TryAddHole(d, found.First, first - 1))
        {
            Discard(d);
            return ReassemblyResult.NoRoom;
        }
        if (ip.MoreFragments && last < found.Last && !TryAddHole(d, last + 1, found.Last))
        {
            Discard(d);
            return ReassemblyResult.NoRoom;
        }
        if (!ip.MoreFragments)
        {
            d.TotalLength = last + 1;
        }
        if (!TryGrow(d, first + payload.Length))
        {
            Discard(d);
            return ReassemblyResult.NoRoom;
        }
        payload.CopyTo(d.Buffer.AsSpan(first));
        if (first == 0)
        {
            d.TimeToLive = ip.TimeToLive;
        }
        if (d.HoleCount == 0)
        {
            _completed = d;
            return ReassemblyResult.Completed;
        }
        return ReassemblyResult.Pending;
    }

    /// <summary>
    /// The datagram completed by the last <c>Add</c>: its header (as one unfragmented datagram) and
    /// payload. The payload is valid until the next call to <c>Add</c> or <c>Expire</c>.
    /// </summary>
    public Span<byte> TakeCompleted(out Ipv4Repr header)
    {
        var data = TakeCompleted(out FragmentKey key, out byte ttl);
        header = new Ipv4Repr(new Ipv4Address((uint)key.Source.Low), new Ipv4Address((uint)key.Destination.Low), key.Protocol, data.Length, ttl,
            (ushort)key.Identification);
        return data;
    }

    /// <summary>As <see cref="TakeCompleted(out Ipv4Repr)"/>, for an IPv6 datagram: its key and the first fragment's hop limit.</summary>
    public Span<byte> TakeCompleted(out FragmentKey key, out byte timeToLive)
    {
        var d = _completed ?? throw new InvalidOperationException("no datagram was completed");
        key = d.Key;
        timeToLive = d.TimeToLive;
        return d.Buffer.AsSpan(0, d.TotalLength);
    }

    /// <summary>Discards datagrams whose time is up; returns how many.</summary>
    public int Expire(Instant now)
    {
        ReleaseCompleted();
        int n = 0;
        foreach (var d in _datagrams)
        {
            if (d.Used && now >= d.Deadline)
            {
                Discard(d);
                n++;
            }
        }
        return n;
    }

    public Instant PollAt()
    {
        var at = Instant.Never;
        foreach (var d in _datagrams)
        {
            if (d.Used)
            {
                at = Instant.Min(at, d.Deadline);
            }
        }
        return at;
    }

    private Datagram? FindOrStart(in FragmentKey key, Instant now)
    {
        Datagram? free = null;
        foreach (var d in _datagrams)
        {
            if (d.Matches(key))
            {
                return d;
            }
            if (!d.Used)
            {
                free ??= d;
            }
        }
        if (free is null)
        {
            return null;
        }
        free.Used = true;
        free.Key = key;
        free.Deadline = now + _timeout;
        free.Buffer = null;
        free.Holes[0] = new Hole { First = 0, Last = Infinity };
        free.HoleCount = 1;
        free.TotalLength = -1;
        return free;
    }

    /// <summary>Makes the datagram's buffer hold at least <paramref name="length"/> bytes, within the byte bound.</summary>
    private bool TryGrow(Datagram d, int length)
    {
        int current = d.Buffer?.Length ?? 0;
        if (current >= length)
        {
            return true;
        }
        // The pool hands out powers of two: the bound counts what it will hand out, not what was asked for.
        int wanted = PoolLength(Math.Max(Math.Max(length, MinBufferLength), current * 2));
        if (_bytesHeld - current + wanted > _maxBytes)
        {
            wanted = PoolLength(length);
            if (_bytesHeld - current + wanted > _maxBytes)
            {
                return false;
            }
        }
        byte[] grown = ArrayPool<byte>.Shared.Rent(wanted);
        if (d.Buffer is not null)
        {
            d.Buffer.CopyTo(grown, 0);
            ArrayPool<byte>.Shared.Return(d.Buffer);
        }
        _bytesHeld += grown.Length - current;
        d.Buffer = grown;
        return true;
    }

    private static int PoolLength(int length) => (int)BitOperations.RoundUpToPowerOf2((uint)length);

    private static bool TryAddHole(Datagram d, int first, int last)
    {
        if (d.HoleCount == MaxHoles)
        {
            return false;
        }
        d.Holes[d.HoleCount++] = new Hole { First = first, Last = last };
        return true;
    }

    private void ReleaseCompleted()
    {
        if (_completed is not null)
        {
            Discard(_completed);
            _completed = null;
        }
    }

    private void Discard(Datagram d)
    {
        if (d.Buffer is not null)
        {
            _bytesHeld -= d.Buffer.Length;
            ArrayPool<byte>.Shared.Return(d.Buffer);
        }
        d.Buffer = null;
        d.Used = false;
        d.HoleCount = 0;
    }
}
