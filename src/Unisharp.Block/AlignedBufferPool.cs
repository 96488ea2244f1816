namespace Unisharp.Block;

/// <summary>
/// A stack of equal aligned buffers, made on first need and kept: the scheduler rents at most one per
/// request in flight, so the pool never grows past the queue depth.
/// </summary>
internal sealed class AlignedBufferPool
{
    private readonly Stack<AlignedBuffer> _free = new();
    private readonly List<AlignedBuffer> _all = [];
    private readonly Lock _lock = new();

    public AlignedBufferPool(int bufferLength, int alignment)
    {
        BufferLength = bufferLength;
        Alignment = alignment;
    }

    public int BufferLength { get; }

    public int Alignment { get; }

    /// <summary>How many buffers exist (for tests).</summary>
    public int Created
    {
        get
        {
            lock (_lock)
            {
                return _all.Count;
            }
        }
    }

    public AlignedBuffer Rent()
    {
        lock (_lock)
        {
            if (_free.TryPop(out var buffer))
            {
                return buffer;
            }
            buffer = new AlignedBuffer(BufferLength, Alignment);
            _all.Add(buffer);
            return buffer;
        }
    }

    public void Return(AlignedBuffer buffer)
    {
        lock (_lock)
        {
            _free.Push(buffer);
        }
    }

    /// <summary>Frees every buffer; called once nothing is in flight.</summary>
    public void Free()
    {
        lock (_lock)
        {
            foreach (var buffer in _all)
            {
                buffer.Free();
            }
            _all.Clear();
            _free.Clear();
        }
    }
}
