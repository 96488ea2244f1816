namespace Unisharp.Devices;

/// <summary>The clock of the machine the unikernel runs on (the host on <c>unix</c>, the guest kernel on a microVM).</summary>
public sealed class SystemClock : IClock
{
    private readonly TimeProvider _time;
    private readonly long _origin;

    /// <param name="time">The time source; <see cref="TimeProvider.System"/> unless a test fakes it.</param>
    public SystemClock(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _origin = _time.GetTimestamp();
    }

    public Instant Now
    {
        get
        {
            long ticks = _time.GetTimestamp() - _origin;
            long freq = _time.TimestampFrequency;
            return new Instant(ticks / freq * 1_000_000 + ticks % freq * 1_000_000 / freq);
        }
    }

    public DateTimeOffset WallNow => _time.GetUtcNow();

    /// <summary>Returns once <paramref name="duration"/> has passed on <see cref="Now"/>, never earlier.</summary>
    public Task SleepAsync(Duration duration, CancellationToken cancellationToken = default) =>
        duration <= Duration.Zero ? Task.CompletedTask : SleepUntilAsync(Now + duration, duration, cancellationToken);

    private async Task SleepUntilAsync(Instant deadline, Duration duration, CancellationToken cancellationToken)
    {
        // Task.Delay drops the fraction of a millisecond and its timer ticks on a coarser clock than Now, so it
        // can return up to a millisecond early: wait again for what is left, rounded up to a whole millisecond.
        await Task.Delay(duration.ToTimeSpan(), _time, cancellationToken).ConfigureAwait(false);
        for (var left = deadline - Now; left > Duration.Zero; left = deadline - Now)
        {
            await Task.Delay(TimeSpan.FromMilliseconds((left.Microseconds + 999) / 1000), _time, cancellationToken).ConfigureAwait(false);
        }
    }
}
