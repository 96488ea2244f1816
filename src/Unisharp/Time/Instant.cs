namespace Unisharp;

/// <summary>
/// A point on a monotonic clock, in microseconds since an arbitrary origin (boot, or the start of a
/// simulation). The stack is always handed the current <see cref="Instant"/>; it never reads a clock.
/// </summary>
public readonly record struct Instant(long Microseconds) : IComparable<Instant>
{
    public static readonly Instant Zero = new(0);
    /// <summary>A deadline that never comes.</summary>
    public static readonly Instant Never = new(long.MaxValue);

    public static Instant FromMilliseconds(long ms) => new(checked(ms * 1000));

    public long TotalMilliseconds => Microseconds / 1000;

    public static Instant operator +(Instant a, Duration d) =>
        d.Microseconds >= long.MaxValue - a.Microseconds ? Never : new(a.Microseconds + d.Microseconds);
    public static Instant operator -(Instant a, Duration d) => new(a.Microseconds - d.Microseconds);
    public static Duration operator -(Instant a, Instant b) => new(a.Microseconds - b.Microseconds);
    public static bool operator <(Instant a, Instant b) => a.Microseconds < b.Microseconds;
    public static bool operator >(Instant a, Instant b) => a.Microseconds > b.Microseconds;
    public static bool operator <=(Instant a, Instant b) => a.Microseconds <= b.Microseconds;
    public static bool operator >=(Instant a, Instant b) => a.Microseconds >= b.Microseconds;

    public static Instant Min(Instant a, Instant b) => a < b ? a : b;
    public static Instant Max(Instant a, Instant b) => a > b ? a : b;

    public int CompareTo(Instant other) => Microseconds.CompareTo(other.Microseconds);

    public override string ToString() => this == Never ? "never" : $"{Microseconds / 1_000_000}.{Microseconds % 1_000_000:D6}s";
}
