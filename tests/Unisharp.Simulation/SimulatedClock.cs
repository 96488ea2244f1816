using Unisharp.Devices;

namespace Unisharp.Simulation;

/// <summary>
/// The virtual clock of a <see cref="SimulatedNetwork"/>: <see cref="Now"/> moves only when the network runs,
/// jumping from one event to the next, so a simulated minute takes microseconds of real time.
/// </summary>
/// <remarks>
/// <see cref="SleepAsync"/> completes inside <see cref="SimulatedNetwork.RunUntil(Instant)"/> once virtual time
/// reaches its deadline; its continuation runs there, on the simulator's thread, unless the awaiter captured a
/// synchronization context. A sleeper's deadline counts as an event, so the network jumps to it.
/// </remarks>
public sealed class SimulatedClock : IClock
{
    /// <summary>The wall-clock time at virtual instant zero (pcap timestamps and <see cref="WallNow"/> start here).</summary>
    public static readonly DateTimeOffset Epoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly Lock _lock = new();
    private readonly PriorityQueue<TaskCompletionSource, EventKey> _sleepers = new();
    private long _sequence;
    private Instant _now;

    internal SimulatedClock()
    {
    }

    /// <summary>The network's virtual time.</summary>
    public Instant Now => _now;

    /// <summary><see cref="Epoch"/> plus the virtual time.</summary>
    public DateTimeOffset WallNow => Epoch.AddTicks(_now.Microseconds * TimeSpan.TicksPerMicrosecond);

    /// <summary>Completes when virtual time reaches <see cref="Now"/> plus <paramref name="duration"/>.</summary>
    public Task SleepAsync(Duration duration, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }
        if (duration <= Duration.Zero)
        {
            return Task.CompletedTask;
        }
        var sleeper = new TaskCompletionSource();
        lock (_lock)
        {
            _sleepers.Enqueue(sleeper, new EventKey(_now + duration, _sequence++));
        }
        if (cancellationToken.CanBeCanceled)
        {
            // The cancelled sleeper stays queued; completing it later is a no-op.
            cancellationToken.Register(static state => ((TaskCompletionSource)state!).TrySetCanceled(), sleeper);
        }
        return sleeper.Task;
    }

    /// <summary>The earliest sleeper's deadline, or <see cref="Instant.Never"/>.</summary>
    internal Instant NextDeadline
    {
        get
        {
            lock (_lock)
            {
                return _sleepers.TryPeek(out _, out var key) ? key.Time : Instant.Never;
            }
        }
    }

    internal void AdvanceTo(Instant now)
    {
        if (now < _now)
        {
            throw new InvalidOperationException($"Virtual time cannot go back from {_now} to {now}.");
        }
        _now = now;
    }

    /// <summary>Completes every sleeper whose deadline has come, in deadline order.</summary>
    internal void WakeDueSleepers()
    {
        while (true)
        {
            TaskCompletionSource? sleeper;
            lock (_lock)
            {
                if (!_sleepers.TryPeek(out sleeper, out var key) || key.Time > _now)
                {
                    return;
                }
                _sleepers.Dequeue();
            }
            // Outside the lock: the continuation may run inline and sleep again.
            sleeper.TrySetResult();
        }
    }
}
