namespace Unisharp;

/// <summary>A span of time in microseconds, used by the stack instead of <see cref="TimeSpan"/> so arithmetic stays integral.</summary>
public readonly record struct Duration(long Microseconds) : IComparable<Duration>
{
    public static readonly Duration Zero = new(0);
    public static readonly Duration MaxValue = new(long.MaxValue);

    public static Duration FromMicroseconds(long us) => new(us);
    public static Duration FromMilliseconds(long ms) => new(checked(ms * 1000));
    public static Duration FromSeconds(long s) => new(checked(s * 1_000_000));
    public static Duration FromTimeSpan(TimeSpan span) => new(span.Ticks / TimeSpan.TicksPerMicrosecond);

    public long TotalMilliseconds => Microseconds / 1000;
    public double TotalSeconds => Microseconds / 1_000_000.0;
    public TimeSpan ToTimeSpan() => TimeSpan.FromTicks(Microseconds * TimeSpan.TicksPerMicrosecond);

    public static Duration operator +(Duration a, Duration b) => new(a.Microseconds + b.Microseconds);
    public static Duration operator -(Duration a, Duration b) => new(a.Microseconds - b.Microseconds);
    public static Duration operator *(Duration a, long factor) => new(a.Microseconds * factor);
    public static Duration operator /(Duration a, long divisor) => new(a.Microseconds / divisor);
    public static bool operator <(Duration a, Duration b) => a.Microseconds < b.Microseconds;
    public static bool operator >(Duration a, Duration b) => a.Microseconds > b.Microseconds;
    public static bool operator <=(Duration a, Duration b) => a.Microseconds <= b.Microseconds;
    public static bool operator >=(Duration a, Duration b) => a.Microseconds >= b.Microseconds;

    public static Duration Min(Duration a, Duration b) => a < b ? a : b;
    public static Duration Max(Duration a, Duration b) => a > b ? a : b;

    public int CompareTo(Duration other) => Microseconds.CompareTo(other.Microseconds);

    public override string ToString() =>
        Microseconds % 1_000_000 == 0 ? $"{Microseconds / 1_000_000}s"
        : Microseconds % 1000 == 0 ? $"{Microseconds / 1000}ms"
        : $"{Microseconds}us";
}
