namespace Unisharp.Net.Udp;

/// <summary>
/// A bounded FIFO of whole datagrams with their remote endpoints, stored contiguously in one byte array
/// (a datagram that does not fit at the end starts again at the front). Not thread-safe: the owner locks.
/// </summary>
internal sealed class DatagramRing
{
    private readonly byte[] _storage;
    private readonly int[] _starts;
    private readonly int[] _lengths;
    private readonly Ipv4Endpoint[] _remotes;
    private int _head;
    private int _count;

    public DatagramRing(int byteCapacity, int datagramCapacity)
    {
        _storage = new byte[byteCapacity];
        _starts = new int[datagramCapacity];
        _lengths = new int[datagramCapacity];
        _remotes = new Ipv4Endpoint[datagramCapacity];
    }

    public int Count => _count;
    public bool IsEmpty => _count == 0;
    public int ByteCapacity => _storage.Length;

    public bool TryEnqueue(ReadOnlySpan<byte> datagram, Ipv4Endpoint remote)
    {
        if (_count == _starts.Length || datagram.Length > _storage.Length)
        {
            return false;
        }
        int start;
        if (_count == 0)
        {
            start = 0;
        }
        else
        {
            int oldest = _starts[_head];
            int newestIndex = (_head + _count - 1) % _starts.Length;
            int end = _starts[newestIndex] + _lengths[newestIndex];
            if (end >= oldest)
            {
                // Not wrapped: free space is [end, capacity) and then [0, oldest). Strict '<' keeps
                // "end == oldest" meaning "not wrapped".
                if (datagram.Length <= _storage.Length - end)
                {
                    start = end;
                }
                else if (datagram.Length < oldest)
                {
                    start = 0;
                }
                else
                {
                    return false;
                }
            }
            else if (end + datagram.Length < oldest)
            {
                start = end;
            }
            else
            {
                return false;
            }
        }
        int index = (_head + _count) % _starts.Length;
        _starts[index] = start;
        _lengths[index] = datagram.Length;
        _remotes[index] = remote;
        datagram.CopyTo(_storage.AsSpan(start));
        _count++;
        return true;
    }

    /// <summary>The oldest datagram, without removing it.</summary>
    public bool TryPeek(out ReadOnlySpan<byte> datagram, out Ipv4Endpoint remote)
    {
        if (_count == 0)
        {
            datagram = default;
            remote = default;
            return false;
        }
        datagram = _storage.AsSpan(_starts[_head], _lengths[_head]);
        remote = _remotes[_head];
        return true;
    }

    public void Dequeue()
    {
        if (_count == 0)
        {
            return;
        }
        _head = (_head + 1) % _starts.Length;
        _count--;
        if (_count == 0)
        {
            _head = 0;
        }
    }

    public void Clear()
    {
        _head = 0;
        _count = 0;
    }
}
