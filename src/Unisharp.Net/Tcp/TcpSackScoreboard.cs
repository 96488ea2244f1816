namespace Unisharp.Net.Tcp;

/// <summary>
/// The sender's record of what the peer has selectively acknowledged above SND.UNA (RFC 6675 §2, the
/// "scoreboard"): sorted, disjoint ranges in a fixed array, so loss recovery allocates nothing.
/// </summary>
internal sealed class TcpSackScoreboard
{
    public const int MaxRanges = 16;

    private readonly SeqNum[] _left = new SeqNum[MaxRanges];
    private readonly SeqNum[] _right = new SeqNum[MaxRanges];

    public int Count { get; private set; }

    public (SeqNum Left, SeqNum Right) this[int index] => (_left[index], _right[index]);

    /// <summary>The end of the highest SACKed range (RFC 6675's HighACK for SACKs), or <paramref name="una"/> when none.</summary>
    public SeqNum HighSacked(SeqNum una) => Count == 0 ? una : _right[Count - 1];

    /// <summary>Bytes SACKed in all.</summary>
    public int SackedBytes
    {
        get
        {
            int n = 0;
            for (int i = 0; i < Count; i++)
            {
                n += _right[i] - _left[i];
            }
            return n;
        }
    }

    /// <summary>Records a block; when the array is full the lowest range is forgotten (it will be resent, never lost).</summary>
    public void Add(SeqNum left, SeqNum right)
    {
        if (right <= left)
        {
            return;
        }
        int i = 0;
        while (i < Count && _right[i] < left)
        {
            i++;
        }
        int j = i;
        while (j < Count && _left[j] <= right)
        {
            left = SeqNum.Min(left, _left[j]);
            right = SeqNum.Max(right, _right[j]);
            j++;
        }
        int merged = j - i;
        if (merged == 0)
        {
            if (Count == MaxRanges)
            {
                if (i == 0)
                {
                    return;
                }
                RemoveAt(0);
                i--;
            }
            Array.Copy(_left, i, _left, i + 1, Count - i);
            Array.Copy(_right, i, _right, i + 1, Count - i);
            Count++;
        }
        else if (merged > 1)
        {
            Array.Copy(_left, j, _left, i + 1, Count - j);
            Array.Copy(_right, j, _right, i + 1, Count - j);
            Count -= merged - 1;
        }
        _left[i] = left;
        _right[i] = right;
    }

    /// <summary>Forgets everything at or below <paramref name="una"/>, now cumulatively acknowledged.</summary>
    public void Prune(SeqNum una)
    {
        int drop = 0;
        while (drop < Count && _right[drop] <= una)
        {
            drop++;
        }
        for (int k = 0; k < drop; k++)
        {
            RemoveAt(0);
        }
        if (Count > 0 && _left[0] < una)
        {
            _left[0] = una;
        }
    }

    public void Clear() => Count = 0;

    /// <summary>Bytes SACKed above <paramref name="seq"/>.</summary>
    public int SackedAbove(SeqNum seq)
    {
        int n = 0;
        for (int i = Count - 1; i >= 0 && _right[i] > seq; i--)
        {
            n += _right[i] - SeqNum.Max(_left[i], seq);
        }
        return n;
    }

    /// <summary>True when <paramref name="seq"/> lies in a SACKed range.</summary>
    public bool IsSacked(SeqNum seq)
    {
        for (int i = 0; i < Count; i++)
        {
            if (seq >= _left[i] && seq < _right[i])
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The first hole (unSACKed bytes below the highest SACKed byte) at or after <paramref name="from"/>:
    /// its start and length. False when there is none.
    /// </summary>
    public bool NextHole(SeqNum from, out SeqNum start, out int length) => NextHole(from, from, out start, out length);

    /// <summary>
    /// As <see cref="NextHole(SeqNum, out SeqNum, out int)"/>, but unSACKed bytes up to <paramref name="lostEnd"/>
    /// count as a hole even above the highest SACKed byte (after a retransmission timeout all of them are lost).
    /// </summary>
    public bool NextHole(SeqNum from, SeqNum lostEnd, out SeqNum start, out int length)
    {
        for (int i = 0; i < Count; i++)
        {
            if (_right[i] <= from)
            {
                continue;
            }
            if (_left[i] > from)
            {
                start = from;
                length = _left[i] - from;
                return true;
            }
            from = _right[i];
        }
        if (from < lostEnd)
        {
            start = from;
            length = lostEnd - from;
            return true;
        }
        start = default;
        length = 0;
        return false;
    }

    /// <summary>Unsacked bytes in [<paramref name="from"/>, <paramref name="to"/>) (holes, for the pipe estimate).</summary>
    public int HoleBytes(SeqNum from, SeqNum to)
    {
        if (to <= from)
        {
            return 0;
        }
        int n = to - from;
        for (int i = 0; i < Count; i++)
        {
            var l = SeqNum.Max(_left[i], from);
            var r = SeqNum.Min(_right[i], to);
            if (r > l)
            {
                n -= r - l;
            }
        }
        return n;
    }

    private void RemoveAt(int index)
    {
        Array.Copy(_left, index + 1, _left, index, Count - index - 1);
        Array.Copy(_right, index + 1, _right, index, Count - index - 1);
        Count--;
    }
}
