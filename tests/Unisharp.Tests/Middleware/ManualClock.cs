using Unisharp.Devices;

namespace Unisharp.Tests.Middleware;

/// <summary>A clock that moves only when told to.</summary>
internal sealed class ManualClock(DateTimeOffset wallAtZero) : IClock
{
    public ManualClock()
        : this(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero))
    {
    }

    public Instant Now { get; set; }

    public DateTimeOffset WallNow => wallAtZero.AddTicks(Now.Microseconds * TimeSpan.TicksPerMicrosecond);

    public void Advance(Duration duration) => Now += duration;

    public Task SleepAsync(Duration duration, CancellationToken cancellationToken = default)
    {
        Advance(duration);
        return Task.CompletedTask;
    }
}
