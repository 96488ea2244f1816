namespace Unisharp.Devices;

/// <summary>Time for the app: a monotonic clock for intervals and deadlines, a wall clock for display.</summary>
public interface IClock
{
    /// <summary>Monotonic time since an arbitrary origin; never goes back.</summary>
    Instant Now { get; }

    /// <summary>Calendar time (UTC); may jump when the host's clock is set.</summary>
    DateTimeOffset WallNow { get; }

    /// <summary>Completes after <paramref name="duration"/> of monotonic time.</summary>
    Task SleepAsync(Duration duration, CancellationToken cancellationToken = default);
}
