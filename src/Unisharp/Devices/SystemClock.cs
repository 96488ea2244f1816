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

    public Task SleepAsync(Duration duration, CancellationToken cancellationToken = default) =>
        duration <= Duration.Zero ? Task.CompletedTask : Task.Delay(duration.ToTimeSpan(), _time, cancellationToken);
}
