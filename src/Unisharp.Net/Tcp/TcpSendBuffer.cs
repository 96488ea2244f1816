namespace Unisharp.Net.Tcp;

/// <summary>
/// The bytes written by the app and not yet acknowledged, in a ring: the first byte is the one at SND.UNA.
/// </summary>
internal sealed class TcpSendBuffer(int capacity)
{
    private readonly byte[] _ring = new byte[capacity];
    private int _head;

    public int Capacity => _ring.Length;

    /// <summary>Bytes held: unacknowledged, sent or not.</summary>
    public int Length { get; private set; }

    public int Free => _ring.Length - Length;

    /// <summary>Appends as much of <paramref name="data"/> as fits; returns how much.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Free);
        int tail = (_head + Length) % _ring.Length;
        int first = Math.Min(n, _ring.Length - tail);
        data[..first].CopyTo(_ring.AsSpan(tail));
        data[first..n].CopyTo(_ring);
        Length += n;
        return n;
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes starting <paramref name="offset"/> bytes after SND.UNA.</summary>
    public void CopyTo(int offset, Span<byte> destination)
    {
        int start = (_head + offset) % _ring.Length;
        int first = Math.Min(destination.Length, _ring.Length - start);
        _ring.AsSpan(start, first).CopyTo(destination);
        _ring.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
    }

    /// <summary>Drops <paramref name="count"/> acknowledged bytes from the front.</summary>
    public void Consume(int count)
    {
        count = Math.Min(count, Length);
        _head = (_head + count) % _ring.Length;
        Length -= count;
        if (Length == 0)
        {
            _head = 0;
        }
    }
}
