using Unisharp.Devices;

namespace Unisharp.Fuzz;

/// <summary>A clock the stateful target moves by hand; nothing sleeps on it.</summary>
internal sealed class ManualClock : IClock
{
    private static readonly DateTimeOffset s_epoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public Instant Now { get; set; }

    public DateTimeOffset WallNow => s_epoch.AddTicks(Now.Microseconds * TimeSpan.TicksPerMicrosecond);

    // Only the stack's asynchronous shells sleep (close timeouts); the target never calls those, so a sleep never ends.
    public Task SleepAsync(Duration duration, CancellationToken cancellationToken = default) =>
        Task.Delay(Timeout.Infinite, cancellationToken);
}
