namespace Unisharp.Net.Tcp;

/// <summary>
/// Delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation): each segment of new data remembers, when it
/// is sent, how much had been delivered and when; when it is delivered (cumulatively or by SACK), the bytes delivered
/// since over the longer of the send and the ACK intervals is a sample of the path's delivery rate, and the time since
/// it was sent a sample of the round trip. Pure: the connection tells it what it sent, what was delivered and the time.
/// </summary>
/// <remarks>
/// The records sit in a ring sized once for the send buffer (no allocation per segment). Only new data is recorded,
/// so the records stay in sequence order and the one to sample is found by a binary search on its end; a
/// retransmission gives no sample (as Karn's rule for the RTT), and a segment sent when the ring is full gives none.
/// </remarks>
internal sealed class TcpDeliveryRate
{
    private readonly Record[] _records;
    private int _head;
    private int _count;
    // The end of the newest record that gave a sample: later ACKs sample only what was delivered above it.
    private SeqNum _sampledEnd;
    private bool _hasSampled;
    // C.app_limited: while Delivered is below it, samples are marked app-limited (0: not app-limited).
    private long _appLimitedUntil;

    /// <param name="capacity">The most segments in flight at once that are tracked.</param>
    public TcpDeliveryRate(int capacity) => _records = new Record[System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, 16))];

    /// <summary>C.delivered: bytes delivered (acknowledged cumulatively or SACKed) since the connection began.</summary>
    public long Delivered { get; private set; }

    /// <summary>C.delivered_time: when <see cref="Delivered"/> last grew.</summary>
    public Instant DeliveredTime { get; private set; }

    /// <summary>C.first_sent_time: the send time of the newest segment delivered (the start of the send interval).</summary>
    public Instant FirstSentTime { get; private set; }

    /// <summary>Segments recorded and not yet acknowledged cumulatively.</summary>
    public int Tracked => _count;

    /// <summary>True while the samples are marked app-limited.</summary>
    public bool IsAppLimited => _appLimitedUntil != 0;

    /// <summary>
    /// New data [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>) went out with
    /// <paramref name="inFlight"/> bytes already outstanding.
    /// </summary>
    public void OnSend(SeqNum start, int length, int inFlight, Instant now)
    {
        if (inFlight == 0)
        {
            // Nothing in flight: the intervals start now, not at the last delivery before an idle time.
            FirstSentTime = now;
            DeliveredTime = now;
        }
        if (length <= 0 || _count == _records.Length)
        {
            return;
        }
        int tail = (_head + _count) & (_records.Length - 1);
        if (_count > 0 && start + length <= _records[(tail - 1) & (_records.Length - 1)].End)
        {
            // Not new data (a go-back-N resend after a timeout): sample only what is sent for the first time.
            return;
        }
        _records[tail] = new Record(start + length, now, Delivered, DeliveredTime, FirstSentTime, _appLimitedUntil != 0);
        _count++;
    }

    /// <summary>
    /// The sender has nothing to send and room in its window (draft §3.4): samples until what is in flight now has
    /// been delivered are app-limited and cannot lower the bandwidth estimate.
    /// </summary>
    public void OnAppLimited(int inFlight) => _appLimitedUntil = Math.Max(Delivered + inFlight, 1);

    /// <summary>
    /// An ACK moved SND.UNA to <paramref name="ack"/> and the bytes delivered to <paramref name="delivered"/> (cumulative
    /// plus SACKed); <paramref name="highestDelivered"/> is the highest sequence number delivered (SND.UNA or the
    /// highest SACKed byte). Returns a sample when data sent after the last sampled segment was delivered.
    /// </summary>
    public bool OnAck(SeqNum ack, SeqNum highestDelivered, long delivered, Instant now, out DeliveryRateSample sample)
    {
        sample = default;
        if (delivered > Delivered)
        {
            Delivered = delivered;
            DeliveredTime = now;
        }
        if (_appLimitedUntil != 0 && Delivered > _appLimitedUntil)
        {
            _appLimitedUntil = 0;
        }
        int found = FindLastEndingBy(highestDelivered);
        bool have = found >= 0 && (!_hasSampled || _records[(_head + found) & (_records.Length - 1)].End > _sampledEnd);
        Record p = have ? _records[(_head + found) & (_records.Length - 1)] : default;
        // Records wholly below SND.UNA are done.
        while (_count > 0 && _records[_head].End <= ack)
        {
            _head = (_head + 1) & (_records.Length - 1);
            _count--;
        }
        if (!have)
        {
            return false;
        }
        _sampledEnd = p.End;
        _hasSampled = true;
        FirstSentTime = p.SentTime;
        // Draft §3.3: the longer of the send and ACK intervals, so neither ACK compression nor a burst inflates the rate.
        var sendElapsed = p.SentTime - p.FirstSentTime;
        var ackElapsed = now - p.DeliveredTime;
        var interval = Duration.Max(sendElapsed, ackElapsed);
        sample = new DeliveryRateSample(Delivered - p.Delivered, interval, now - p.SentTime, p.Delivered, p.AppLimited);
        return interval > Duration.Zero;
    }

    /// <summary>The offset from the head of the newest record ending at or below <paramref name="seq"/>, or -1.</summary>
    private int FindLastEndingBy(SeqNum seq)
    {
        int lo = 0;
        int hi = _count - 1;
        int found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (_records[(_head + mid) & (_records.Length - 1)].End <= seq)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found;
    }

    /// <summary>Per segment (draft §3.1): P.delivered, P.delivered_time, P.first_sent_time, P.is_app_limited and its send time.</summary>
    private readonly record struct Record(SeqNum End, Instant SentTime, long Delivered, Instant DeliveredTime, Instant FirstSentTime, bool AppLimited);
}
