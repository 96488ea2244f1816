using System.Buffers;

namespace Unisharp.Net.Tcp;

/// <summary>
/// Received bytes in a ring: first the in-order bytes the app has not read, then room for the window, where
/// out-of-order segments are written in place and remembered as ranges until the hole before them fills.
/// The ring may grow (receive window auto-tuning); a pooled ring goes back to its pool on <see cref="Release"/>.
/// How many ranges it keeps scales with the ring (<see cref="MaxRanges"/>); their arrays grow on demand up to that.
/// </summary>
internal sealed class TcpReceiveBuffer
{
    /// <summary>A ring of this many bytes may hold one out-of-order range (a hole and a segment after it take more).</summary>
    public const int BytesPerRange = 1024;

    /// <summary>The fewest ranges any ring keeps.</summary>
    public const int MinRanges = 8;

    // Ranges as offsets from the end of the in-order data (RCV.NXT), sorted and disjoint, each with the write count
    // when data last landed in it (for SACK's most recent first).
    private int[] _rangeStart = new int[MinRanges];
    private int[] _rangeEnd = new int[MinRanges];
    private long[] _rangeStamp = new long[MinRanges];
    private long _stamp;
    private readonly ArrayPool<byte>? _pool;
    private byte[] _ring;
    private int _capacity;
    private int _head;

    /// <param name="pooled">Rent the ring from <paramref name="pool"/>, or <see cref="ArrayPool{T}.Shared"/> (it may hold an earlier connection's bytes, which are never read: only bytes written here become readable).</param>
    /// <param name="pool">Where a pooled ring comes from and goes back to; the shared pool when null.</param>
    public TcpReceiveBuffer(int capacity, bool pooled = false, ArrayPool<byte>? pool = null)
    {
        _pool = pooled ? pool ?? ArrayPool<byte>.Shared : null;
        _capacity = capacity;
        _ring = _pool?.Rent(capacity) ?? new byte[capacity];
    }

    public int Capacity => _capacity;

    /// <summary>In-order bytes the app may read.</summary>
    public int Readable { get; private set; }

    /// <summary>The window: room after the in-order bytes.</summary>
    public int Window => _capacity - Readable;

    public int RangeCount { get; private set; }

    /// <summary>Out-of-order ranges kept at once, by the ring's size; a segment that would need more is dropped (it will be resent).</summary>
    public int MaxRanges => Math.Max(MinRanges, _capacity / BytesPerRange);

    /// <summary>The out-of-order range <paramref name="index"/>, as offsets after RCV.NXT.</summary>
    public (int Start, int End) Range(int index) => (_rangeStart[index], _rangeEnd[index]);

    /// <summary>Larger for a range that got data more recently.</summary>
    public long RangeRecency(int index) => _rangeStamp[index];

    /// <summary>
    /// Stores <paramref name="data"/> at <paramref name="offset"/> bytes after RCV.NXT (already trimmed to the
    /// window). Returns how many bytes became readable in order (RCV.NXT advances by that), or -1 when the
    /// segment was dropped for want of a range slot.
    /// </summary>
    public int Write(int offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return 0;
        }
        int end = offset + data.Length;
        if (offset > 0 && !TryAddRange(offset, end))
        {
            return -1;
        }
        int start = (_head + Readable + offset) % _capacity;
        int first = Math.Min(data.Length, _capacity - start);
        data[..first].CopyTo(_ring.AsSpan(start));
        data[first..].CopyTo(_ring);
        if (offset > 0)
        {
            return 0;
        }
        // In order: take it and every range it now reaches.
        int advance = end;
        int consumed = 0;
        while (consumed < RangeCount && _rangeStart[consumed] <= advance)
        {
            advance = Math.Max(advance, _rangeEnd[consumed]);
            consumed++;
        }
        RemoveRanges(consumed, advance);
        Readable += advance;
        return advance;
    }

    /// <summary>Copies and removes up to <paramref name="destination"/>.Length in-order bytes.</summary>
    public int Read(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, Readable);
        int first = Math.Min(n, _capacity - _head);
        _ring.AsSpan(_head, first).CopyTo(destination);
        _ring.AsSpan(0, n - first).CopyTo(destination[first..]);
        _head = (_head + n) % _capacity;
        Readable -= n;
        if (Readable == 0 && RangeCount == 0)
        {
            // Empty: start over at the front, so the next segments land in one piece.
            _head = 0;
        }
        return n;
    }

    /// <summary>Drops every in-order byte (nobody will read them: the app has closed).</summary>
    public void Discard()
    {
        _head = (_head + Readable) % _capacity;
        Readable = 0;
    }

    /// <summary>
    /// Enlarges the ring to <paramref name="capacity"/> bytes, keeping the readable bytes and the out-of-order ranges
    /// in place relative to RCV.NXT; the window grows by the difference.
    /// </summary>
    public void Grow(int capacity)
    {
        if (capacity <= _capacity)
        {
            return;
        }
        var ring = _pool?.Rent(capacity) ?? new byte[capacity];
        int used = Readable + (RangeCount > 0 ? _rangeEnd[RangeCount - 1] : 0);
        int first = Math.Min(used, _capacity - _head);
        _ring.AsSpan(_head, first).CopyTo(ring);
        _ring.AsSpan(0, used - first).CopyTo(ring.AsSpan(first));
        ReturnRing();
        _ring = ring;
        _capacity = capacity;
        _head = 0;
    }

    /// <summary>Gives a pooled ring back; the buffer must not be used afterwards.</summary>
    public void Release()
    {
        ReturnRing();
        _ring = [];
        _capacity = 0;
        Readable = 0;
        RangeCount = 0;
        _head = 0;
    }

    private void ReturnRing()
    {
        if (_pool is not null && _ring.Length > 0)
        {
            _pool.Return(_ring);
        }
    }

    private bool TryAddRange(int start, int end)
    {
        // Merge with every range it touches; insert in order.
        int i = 0;
        while (i < RangeCount && _rangeEnd[i] < start)
        {
            i++;
        }
        int j = i;
        while (j < RangeCount && _rangeStart[j] <= end)
        {
            start = Math.Min(start, _rangeStart[j]);
            end = Math.Max(end, _rangeEnd[j]);
            j++;
        }
        int merged = j - i;
        if (merged == 0)
        {
            if (RangeCount >= MaxRanges)
            {
                return false;
            }
            if (RangeCount == _rangeStart.Length)
            {
                // More holes than ever before on this connection: room for twice as many, within the bound.
                int length = Math.Min(2 * _rangeStart.Length, MaxRanges);
                Array.Resize(ref _rangeStart, length);
                Array.Resize(ref _rangeEnd, length);
                Array.Resize(ref _rangeStamp, length);
            }
            Array.Copy(_rangeStart, i, _rangeStart, i + 1, RangeCount - i);
            Array.Copy(_rangeEnd, i, _rangeEnd, i + 1, RangeCount - i);
            Array.Copy(_rangeStamp, i, _rangeStamp, i + 1, RangeCount - i);
            RangeCount++;
        }
        else if (merged > 1)
        {
            Array.Copy(_rangeStart, j, _rangeStart, i + 1, RangeCount - j);
            Array.Copy(_rangeEnd, j, _rangeEnd, i + 1, RangeCount - j);
            Array.Copy(_rangeStamp, j, _rangeStamp, i + 1, RangeCount - j);
            RangeCount -= merged - 1;
        }
        _rangeStart[i] = start;
        _rangeEnd[i] = end;
        _rangeStamp[i] = ++_stamp;
        return true;
    }

    /// <summary>Drops the first <paramref name="count"/> ranges and rebases the rest after RCV.NXT moved by <paramref name="advance"/>.</summary>
    private void RemoveRanges(int count, int advance)
    {
        int w = 0;
        for (int r = count; r < RangeCount; r++, w++)
        {
            _rangeStart[w] = _rangeStart[r] - advance;
            _rangeEnd[w] = _rangeEnd[r] - advance;
            _rangeStamp[w] = _rangeStamp[r];
        }
        RangeCount = w;
    }
}
