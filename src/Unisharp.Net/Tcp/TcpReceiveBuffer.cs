namespace Unisharp.Net.Tcp;

/// <summary>
/// Received bytes in a ring: first the in-order bytes the app has not read, then room for the window, where
/// out-of-order segments are written in place and remembered as ranges until the hole before them fills.
/// </summary>
internal sealed class TcpReceiveBuffer(int capacity)
{
    /// <summary>Out-of-order ranges kept at once; a segment that would need more is dropped (it will be resent).</summary>
    public const int MaxRanges = 8;

    private readonly byte[] _ring = new byte[capacity];
    // Ranges as offsets from the end of the in-order data (RCV.NXT), sorted and disjoint.
    private readonly int[] _rangeStart = new int[MaxRanges];
    private readonly int[] _rangeEnd = new int[MaxRanges];
    private int _head;

    public int Capacity => _ring.Length;

    /// <summary>In-order bytes the app may read.</summary>
    public int Readable { get; private set; }

    /// <summary>The window: room after the in-order bytes.</summary>
    public int Window => _ring.Length - Readable;

    public int RangeCount { get; private set; }

    /// <summary>The out-of-order range <paramref name="index"/>, as offsets after RCV.NXT.</summary>
    public (int Start, int End) Range(int index) => (_rangeStart[index], _rangeEnd[index]);

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
        int start = (_head + Readable + offset) % _ring.Length;
        int first = Math.Min(data.Length, _ring.Length - start);
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
        int first = Math.Min(n, _ring.Length - _head);
        _ring.AsSpan(_head, first).CopyTo(destination);
        _ring.AsSpan(0, n - first).CopyTo(destination[first..]);
        _head = (_head + n) % _ring.Length;
        Readable -= n;
        return n;
    }

    /// <summary>Drops every in-order byte (nobody will read them: the app has closed).</summary>
    public void Discard()
    {
        _head = (_head + Readable) % _ring.Length;
        Readable = 0;
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
            if (RangeCount == MaxRanges)
            {
                return false;
            }
            Array.Copy(_rangeStart, i, _rangeStart, i + 1, RangeCount - i);
            Array.Copy(_rangeEnd, i, _rangeEnd, i + 1, RangeCount - i);
            RangeCount++;
        }
        else if (merged > 1)
        {
            Array.Copy(_rangeStart, j, _rangeStart, i + 1, RangeCount - j);
            Array.Copy(_rangeEnd, j, _rangeEnd, i + 1, RangeCount - j);
            RangeCount -= merged - 1;
        }
        _rangeStart[i] = start;
        _rangeEnd[i] = end;
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
        }
        RangeCount = w;
    }
}
