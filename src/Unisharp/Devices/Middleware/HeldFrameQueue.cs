namespace Unisharp.Devices.Middleware;

/// <summary>
/// The frames a <see cref="FaultInjectorDevice"/> holds back in one direction: delayed ones until their
/// time, reordered ones until a later frame has passed them (or their time), and those ready to go on.
/// Buffers are kept for reuse (at most <c>capacity</c> of them) and the queues keep their capacity, so a
/// steady flow allocates nothing once the most frames it holds at once have been held.
/// </summary>
internal sealed class HeldFrameQueue(int capacity, int bufferLength)
{
    // Our own pool rather than ArrayPool.Shared: that one keeps only a few dozen buffers of a size per
    // core, fewer than a delay over a busy link holds.
    private readonly Stack<byte[]> _free = new();
    private readonly Queue<HeldFrame> _delayed = new();
    private readonly Queue<HeldFrame> _reordered = new();
    private readonly Queue<HeldFrame> _ready = new();

    public int Count => _delayed.Count + _reordered.Count + _ready.Count;

    public bool HasRoomFor(int frames) => Count + frames <= capacity;

    public int ReadyCount => _ready.Count;

    /// <summary>The earliest instant a held frame is due (ready frames are due already), or <see cref="Instant.Never"/>.</summary>
    public Instant NextDue
    {
        get
        {
            Instant next = Instant.Never;
            if (_ready.TryPeek(out var ready))
            {
                next = ready.Due;
            }
            if (_delayed.TryPeek(out var delayed))
            {
                next = Instant.Min(next, delayed.Due);
            }
            if (_reordered.TryPeek(out var reordered))
            {
                next = Instant.Min(next, reordered.Due);
            }
            return next;
        }
    }

    /// <summary>Holds a copy of <paramref name="frame"/>.</summary>
    public void Hold(ReadOnlySpan<byte> frame, Instant due, long sequence, HeldKind kind)
    {
        // A frame longer than the device's largest (receive offload) gets a buffer of its own, not kept.
        byte[] buffer = frame.Length > bufferLength ? new byte[frame.Length]
            : _free.TryPop(out byte[]? free) ? free
            : new byte[bufferLength];
        frame.CopyTo(buffer);
        var held = new HeldFrame(buffer, frame.Length, due, sequence, kind == HeldKind.Reordered);
        (kind switch
        {
            HeldKind.Delayed => _delayed,
            HeldKind.Reordered => _reordered,
            _ => _ready,
        }).Enqueue(held);
    }

    /// <summary>Moves delayed and reordered frames whose time has come to the ready queue, earliest first.</summary>
    public void Promote(Instant now)
    {
        while (true)
        {
            bool delayedDue = _delayed.TryPeek(out var delayed) && delayed.Due <= now;
            bool reorderedDue = _reordered.TryPeek(out var reordered) && reordered.Due <= now;
            if (delayedDue && (!reorderedDue || (delayed.Due, delayed.Sequence).CompareTo((reordered.Due, reordered.Sequence)) <= 0))
            {
                _ready.Enqueue(_delayed.Dequeue());
            }
            else if (reorderedDue)
            {
                _ready.Enqueue(_reordered.Dequeue());
            }
            else
            {
                return;
            }
        }
    }

    public bool TryPeekReady(out HeldFrame frame) => _ready.TryPeek(out frame);

    /// <summary>Removes the first ready frame; the caller gives its buffer back with <see cref="Return"/>.</summary>
    public HeldFrame DequeueReady() => _ready.Dequeue();

    /// <summary>
    /// A frame that was not itself held back for reordering has passed: frames held back before it
    /// (lower <paramref name="sequence"/>) may now follow it.
    /// </summary>
    public void Passed(long sequence)
    {
        while (_reordered.TryPeek(out var held) && held.Sequence < sequence)
        {
            _ready.Enqueue(_reordered.Dequeue());
        }
    }

    /// <summary>Takes back the buffer of a frame that has been passed on.</summary>
    public void Return(in HeldFrame frame)
    {
        if (frame.Buffer.Length == bufferLength)
        {
            _free.Push(frame.Buffer);
        }
    }

    public void Clear()
    {
        foreach (var queue in (ReadOnlySpan<Queue<HeldFrame>>)[_delayed, _reordered, _ready])
        {
            while (queue.TryDequeue(out var held))
            {
                Return(held);
            }
        }
    }
}

internal enum HeldKind
{
    Delayed,
    Reordered,
    Ready,
}

internal readonly record struct HeldFrame(byte[] Buffer, int Length, Instant Due, long Sequence, bool WasReordered)
{
    public Span<byte> Span => Buffer.AsSpan(0, Length);
}
