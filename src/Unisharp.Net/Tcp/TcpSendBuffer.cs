using System.Buffers;

namespace Unisharp.Net.Tcp;

/// <summary>
/// The bytes written by the app and not yet acknowledged, in a ring: the first byte is the one at SND.UNA.
/// A pooled ring goes back to its pool on <see cref="Release"/>.
/// </summary>
internal sealed class TcpSendBuffer
{
    private readonly ArrayPool<byte>? _pool;
    private byte[] _ring;
    private int _capacity;
    private int _head;

    /// <param name="pooled">Rent the ring from <paramref name="pool"/>, or <see cref="ArrayPool{T}.Shared"/> (only bytes written here are ever sent).</param>
    /// <param name="pool">Where a pooled ring comes from and goes back to; the shared pool when null.</param>
    public TcpSendBuffer(int capacity, bool pooled = false, ArrayPool<byte>? pool = null)
    {
        _pool = pooled ? pool ?? ArrayPool<byte>.Shared : null;
        _capacity = capacity;
        _ring = _pool?.Rent(capacity) ?? new byte[capacity];
    }

    public int Capacity => _capacity;

    /// <summary>Bytes held: unacknowledged, sent or not.</summary>
    public int Length { get; private set; }

    public int Free => _capacity - Length;

    /// <summary>Appends as much of <paramref name="data"/> as fits; returns how much.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Free);
        int tail = (_head + Length) % _capacity;
        int first = Math.Min(n, _capacity - tail);
        data[..first].CopyTo(_ring.AsSpan(tail));
        data[first..n].CopyTo(_ring);
        Length += n;
        return n;
    }

    /// <summary>Copies <paramref name="destination"/>.Length bytes starting <paramref name="offset"/> bytes after SND.UNA.</summary>
    public void CopyTo(int offset, Span<byte> destination)
    {
        int start = (_head + offset) % _capacity;
        int first = Math.Min(destination.Length, _capacity - start);
        _ring.AsSpan(start, first).CopyTo(destination);
        _ring.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
    }

    /// <summary>Drops <paramref name="count"/> acknowledged bytes from the front.</summary>
    public void Consume(int count)
    {
        count = Math.Min(count, Length);
        _head = (_head + count) % _capacity;
        Length -= count;
        if (Length == 0)
        {
            _head = 0;
        }
    }

    /// <summary>Gives a pooled ring back; the buffer must not be used afterwards.</summary>
    public void Release()
    {
        if (_pool is not null && _ring.Length > 0)
        {
            _pool.Return(_ring);
        }
        _ring = [];
        _capacity = 0;
        Length = 0;
        _head = 0;
    }
}
