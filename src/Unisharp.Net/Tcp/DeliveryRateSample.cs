namespace Unisharp.Net.Tcp;

/// <summary>
/// One delivery rate sample (draft-cheng-iccrg-delivery-rate-estimation §3.3): <paramref name="Delivered"/> bytes over
/// <paramref name="Interval"/>, the round trip of the segment sampled, C.delivered when it was sent (to count round
/// trips by) and whether the sender was app-limited then.
/// </summary>
internal readonly record struct DeliveryRateSample(long Delivered, Duration Interval, Duration Rtt, long PriorDelivered, bool AppLimited)
{
    /// <summary>Bytes per second.</summary>
    public double Rate => Interval.Microseconds > 0 ? Delivered * 1e6 / Interval.Microseconds : 0;
}
