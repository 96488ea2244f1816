using Unisharp.Net;

namespace Unisharp.Devices.Middleware;

/// <summary>
/// Wraps a network device and makes its link unreliable on purpose: frames are dropped, duplicated,
/// reordered and delayed at random, in both directions, as <see cref="FaultOptions"/> says (smoltcp's
/// <c>FaultInjector</c> is the model). The random choices come from the options' seed, so the same seed
/// and the same traffic give the same faults.
/// </summary>
/// <remarks>
/// <para>
/// Frames that need no holding pass straight through without a copy. Delayed and reordered frames are copied
/// into reused buffers and held, at most <see cref="HeldFrameCapacity"/> per direction: received ones come out
/// of later <see cref="TryReceive{THandler}"/> calls, transmitted ones go to the inner device on later calls of
/// any method. <see cref="WaitForFrame"/> waits no longer than until the next held frame is due, and then
/// reports a frame pending; <see cref="NextRelease"/> tells a poll loop when that is.
/// </para>
/// <para>
/// A reordered frame is held until a later frame in the same direction has passed it, or for
/// <see cref="MaxReorderHold"/> beyond the delay if none comes. A duplicate follows its original. A dropped
/// transmitted frame is still built (into a scratch buffer), as if lost on the wire.
/// </para>
/// <para>The device owns the inner device and disposes it.</para>
/// </remarks>
public sealed class FaultInjectorDevice : INetworkDevice
{
    /// <summary>Frames held per direction; when full, received frames are dropped and transmits refused.</summary>
    public const int HeldFrameCapacity = 1024;

    /// <summary>How long past the delay a reordered frame waits for a later frame to overtake it.</summary>
    public static readonly Duration MaxReorderHold = Duration.FromMilliseconds(10);

    private static readonly Duration s_transmitRetry = Duration.FromMilliseconds(1);

    private readonly INetworkDevice _inner;
    private readonly IClock _clock;
    private readonly FaultOptions _options;
    private readonly SeededEntropy _random;
    private readonly HeldFrameQueue _received;
    private readonly HeldFrameQueue _transmitted;
    private byte[]? _scratch;
    private long _receiveSequence;
    private long _transmitSequence;
    private bool _disposed;

    /// <param name="inner">The device whose link is made unreliable.</param>
    /// <param name="options">The faults; validated here.</param>
    /// <param name="clock">Times the delays.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public FaultInjectorDevice(INetworkDevice inner, FaultOptions options, IClock clock)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        options.Validate();
        _inner = inner;
        _options = options;
        _clock = clock;
        _random = new SeededEntropy(options.Seed);
        _received = new HeldFrameQueue(HeldFrameCapacity, inner.Capabilities.MaxFrameLength);
        _transmitted = new HeldFrameQueue(HeldFrameCapacity, inner.Capabilities.MaxFrameLength);
    }

    public string Name => _inner.Name;

    public MacAddress MacAddress => _inner.MacAddress;

    /// <summary>The inner device's, without offload: frames pass through here plain (open the inner device without offload).</summary>
    public NetworkDeviceCapabilities Capabilities => _inner.Capabilities with { ChecksumOffload = false, SegmentationOffload = false };

    public FaultOptions Options => _options;

    /// <summary>Frames dropped on purpose, both directions.</summary>
    public long Dropped { get; private set; }

    /// <summary>Extra copies made, both directions.</summary>
    public long Duplicated { get; private set; }

    /// <summary>Frames held back for reordering, both directions.</summary>
    public long Reordered { get; private set; }

    /// <summary>Received frames lost because <see cref="HeldFrameCapacity"/> frames were already held.</summary>
    public long Overflowed { get; private set; }

    /// <summary>Frames held now, both directions.</summary>
    public int HeldFrames => _received.Count + _transmitted.Count;

    /// <summary>When the next held frame is due (already, if one is waiting), or <see cref="Instant.Never"/>.</summary>
    public Instant NextRelease => Instant.Min(_received.NextDue, _transmitted.NextDue);

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Instant now = _clock.Now;
        ReleaseTransmits(now);
        _received.Promote(now);
        if (TryReceiveHeld(ref handler))
        {
            return true;
        }
        // Dropped and held frames do not count as received: take the next, a burst at most, so a
        // caller's "false means nothing pending" stays nearly true without looping without end.
        int burst = Math.Max(1, _inner.Capabilities.MaxBurst);
        for (int i = 0; i < burst; i++)
        {
            var decider = new ReceiveDecider(this, now);
            if (!_inner.TryReceive(ref decider))
            {
                return false;
            }
            if (TryReceiveHeld(ref handler))
            {
                return true;
            }
        }
        return false;
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (length < 0 || length > Capabilities.MaxFrameLength)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"A frame on {Name} is 0 to {Capabilities.MaxFrameLength} bytes.");
        }
        Instant now = _clock.Now;
        if (!ReleaseTransmits(now))
        {
            // The inner device is full with frames released before this one; they go first.
            return false;
        }
        long sequence = _transmitSequence++;
        if (Chance(_options.Drop))
        {
            Dropped++;
            _scratch ??= new byte[Capabilities.MaxFrameLength];
            builder.Build(_scratch.AsSpan(0, length));
            return true;
        }
        bool duplicate = Chance(_options.Duplicate);
        bool reorder = Chance(_options.Reorder);
        if (!duplicate && !reorder && _options.Delay == Duration.Zero)
        {
            if (!_inner.TryTransmit(length, ref builder))
            {
                return false;
            }
            _transmitted.Passed(sequence);
            ReleaseTransmits(now);
            return true;
        }
        int copies = duplicate ? 2 : 1;
        if (!_transmitted.HasRoomFor(copies))
        {
            return false;
        }
        _scratch ??= new byte[Capabilities.MaxFrameLength];
        var frame = _scratch.AsSpan(0, length);
        builder.Build(frame);
        Hold(_transmitted, frame, now, sequence, duplicate, reorder);
        ReleaseTransmits(now);
        return true;
    }

    /// <summary>
    /// Waits for the inner device, but no longer than until the next held frame is due; true when a
    /// frame may be pending, held ones included.
    /// </summary>
    public bool WaitForFrame(TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Instant now = _clock.Now;
        ReleaseTransmits(now);
        _received.Promote(now);
        if (_received.ReadyCount > 0)
        {
            return true;
        }
        Instant next = _received.NextDue;
        if (_transmitted.ReadyCount > 0)
        {
            // The inner device refused a due frame (it is full): try again soon rather than spin.
            next = Instant.Min(next, now + s_transmitRetry);
        }
        else
        {
            next = Instant.Min(next, _transmitted.NextDue);
        }
        if (next != Instant.Never)
        {
            var untilDue = Duration.Max(next - now, Duration.Zero).ToTimeSpan();
            if (timeout < TimeSpan.Zero || untilDue < timeout)
            {
                timeout = untilDue;
            }
        }
        if (_inner.WaitForFrame(timeout))
        {
            return true;
        }
        now = _clock.Now;
        ReleaseTransmits(now);
        _received.Promote(now);
        return _received.ReadyCount > 0 || now >= next;
    }

    public void Wake() => _inner.Wake();

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _received.Clear();
        _transmitted.Clear();
        _inner.Dispose();
    }

    private bool Chance(double probability) => probability > 0 && _random.NextDouble() < probability;

    private void Hold(HeldFrameQueue queue, ReadOnlySpan<byte> frame, Instant now, long sequence, bool duplicate, bool reorder)
    {
        Instant due = now + _options.Delay;
        var kind = HeldKind.Delayed;
        if (reorder)
        {
            Reordered++;
            due += MaxReorderHold;
            kind = HeldKind.Reordered;
        }
        else if (_options.Delay == Duration.Zero)
        {
            kind = HeldKind.Ready;
        }
        queue.Hold(frame, due, sequence, kind);
        if (duplicate)
        {
            Duplicated++;
            queue.Hold(frame, due, sequence, kind);
        }
    }

    /// <summary>Hands the first ready received frame to the handler.</summary>
    private bool TryReceiveHeld<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        if (!_received.TryPeekReady(out _))
        {
            return false;
        }
        var held = _received.DequeueReady();
        try
        {
            handler.Handle(held.Span);
        }
        finally
        {
            _received.Return(held);
        }
        if (!held.WasReordered)
        {
            _received.Passed(held.Sequence);
        }
        return true;
    }

    /// <summary>Sends due transmitted frames to the inner device; false when it refused one (it is full).</summary>
    private bool ReleaseTransmits(Instant now)
    {
        _transmitted.Promote(now);
        while (_transmitted.TryPeekReady(out var held))
        {
            if (!_inner.TrySend(held.Span))
            {
                return false;
            }
            _transmitted.DequeueReady();
            _transmitted.Return(held);
            if (!held.WasReordered)
            {
                _transmitted.Passed(held.Sequence);
            }
        }
        return true;
    }

    /// <summary>
    /// Decides a received frame's fate while the inner device lends it. Every frame that survives goes
    /// through the held queue, even when it is on time, and reaches the caller's handler from this device:
    /// the inner device is only ever called with this one handler type. Wrapping the caller's generic
    /// handler instead would let NativeAOT's generic expansion recurse through stacked middleware.
    /// </summary>
    private readonly struct ReceiveDecider(FaultInjectorDevice owner, Instant now) : IFrameHandler
    {
        public void Handle(Span<byte> frame)
        {
            long sequence = owner._receiveSequence++;
            var options = owner._options;
            if (owner.Chance(options.Drop))
            {
                owner.Dropped++;
                return;
            }
            bool duplicate = owner.Chance(options.Duplicate);
            bool reorder = owner.Chance(options.Reorder);
            if (!owner._received.HasRoomFor(duplicate ? 2 : 1))
            {
                owner.Overflowed++;
                return;
            }
            if (!reorder && options.Delay == Duration.Zero)
            {
                owner._received.Hold(frame, now, sequence, HeldKind.Ready);
                if (duplicate)
                {
                    owner.Duplicated++;
                    owner._received.Hold(frame, now, sequence, HeldKind.Ready);
                }
                return;
            }
            owner.Hold(owner._received, frame, now, sequence, duplicate, reorder);
        }
    }
}
