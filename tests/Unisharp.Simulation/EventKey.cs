namespace Unisharp.Simulation;

/// <summary>
/// The order of simulator events: by time, then by the order they were scheduled, so two runs with the
/// same seed process simultaneous events identically.
/// </summary>
internal readonly record struct EventKey(Instant Time, long Sequence) : IComparable<EventKey>
{
    public int CompareTo(EventKey other)
    {
        int byTime = Time.CompareTo(other.Time);
        return byTime != 0 ? byTime : Sequence.CompareTo(other.Sequence);
    }
}
