namespace Unisharp.Net.Tcp;

/// <summary>
/// BBR's path model and state machine (v1: Cardwell et al., "BBR: Congestion-Based Congestion Control", ACM Queue
/// 2016, and draft-cardwell-iccrg-bbr-congestion-control-00, the basis of draft-ietf-ccwg-bbr): the bottleneck
/// bandwidth as a windowed maximum of delivery rate samples over ten round trips, the round-trip propagation time
/// as the minimum RTT over ten seconds, and from them a pacing rate (gain x bandwidth) and a congestion window
/// (gain x bandwidth-delay product). Startup doubles the rate each round trip until the bandwidth stops growing,
/// Drain empties the queue Startup built, ProbeBW cycles the pacing gain (1.25, 0.75, then 1 for six round trips)
/// and ProbeRTT cuts the flight to four segments for 200 ms when the minimum RTT has not been seen for ten seconds.
/// Random loss is not a congestion signal here, which is why it keeps its rate where loss-based control collapses.
/// Pure: the connection feeds it rate samples, what is in flight and the time.
/// </summary>
internal sealed class BbrModel
{
    /// <summary>2/ln 2: the smallest gain that doubles the delivery rate each round trip in Startup.</summary>
    public const double HighGain = 2.885;
    /// <summary>ProbeBW's congestion window gain: room for delayed and stretched ACKs.</summary>
    public const double CwndGain = 2;
    /// <summary>Round trips the bandwidth filter spans.</summary>
    public const int BandwidthWindowRounds = 10;
    /// <summary>Startup ends when the bandwidth grew less than 25% for three round trips in a row.</summary>
    private const double FullBandwidthGrowth = 1.25;
    private const int FullBandwidthRounds = 3;
    private const int MinPipeSegments = 4;
    private static readonly Duration s_minRttWindow = Duration.FromSeconds(10);
    private static readonly Duration s_probeRttDuration = Duration.FromMilliseconds(200);
    private static readonly double[] s_pacingGains = [1.25, 0.75, 1, 1, 1, 1, 1, 1];

    private readonly int _smss;
    private readonly WindowedMax _bandwidth = new();
    private long _nextRoundDelivered;
    private long _delivered;
    private bool _roundStart;
    private double _fullBandwidth;
    private int _fullBandwidthCount;
    private Instant _minRttStamp;
    private bool _hasMinRtt;
    private int _cycleIndex;
    private Instant _cycleStamp;
    private Instant _probeRttDone = Instant.Never;
    private bool _probeRttRoundDone;
    private int _priorCwnd;
    private bool _idleRestart;
    // ACK aggregation (draft-ietf-ccwg-bbr §5.5.9): the bytes delivered in this epoch beyond what the bandwidth
    // estimate explains, and the windowed maximum of that excess, which the window makes room for.
    private readonly WindowedMax _extraAcked = new();
    private Instant _ackEpochStart;
    private long _ackEpochAcked;

    /// <param name="smss">The sender's maximum segment size.</param>
    /// <param name="initialCwnd">The initial window, bytes.</param>
    /// <param name="srtt">The handshake's round trip, if measured: the initial pacing rate is HighGain x initialCwnd / srtt.</param>
    /// <param name="phase">Where ProbeBW's gain cycle starts (varied per connection so flows do not probe in step).</param>
    public BbrModel(int smss, int initialCwnd, Duration? srtt, int phase)
    {
        _smss = smss;
        State = BbrState.Startup;
        PacingGain = HighGain;
        CwndGainNow = HighGain;
        var rtt = srtt is { } r && r > Duration.Zero ? r : Duration.FromMilliseconds(1);
        PacingRate = HighGain * initialCwnd * 1e6 / rtt.Microseconds;
        _cycleIndex = phase;
    }

    public BbrState State { get; private set; }

    /// <summary>BtlBw: the bottleneck bandwidth estimate, bytes per second (0 before the first sample).</summary>
    public double Bandwidth => _bandwidth.Value;

    /// <summary>RTprop: the minimum round trip seen in the last ten seconds.</summary>
    public Duration MinRtt { get; private set; } = Duration.FromSeconds(1);

    /// <summary>The rate to pace at, bytes per second.</summary>
    public double PacingRate { get; private set; }

    public double PacingGain { get; private set; }

    public double CwndGainNow { get; private set; }

    /// <summary>True once Startup found the bandwidth stopped growing.</summary>
    public bool FilledPipe { get; private set; }

    /// <summary>Round trips counted (a round ends when a segment sent after its start is delivered).</summary>
    public long Rounds { get; private set; }

    /// <summary>Times ProbeRTT was entered.</summary>
    public int ProbeRttCount { get; private set; }

    /// <summary>BDP x gain plus room for three segments of ACK aggregation, at least four segments (draft §4.2.3.2).</summary>
    public int TargetCwnd(double gain)
    {
        if (!_hasMinRtt || Bandwidth <= 0)
        {
            return 0;
        }
        double bdp = Bandwidth * MinRtt.Microseconds / 1e6;
        return (int)Math.Min(Math.Max(gain * bdp + 3 * _smss, MinPipeSegments * _smss), int.MaxValue / 2);
    }

    /// <summary>
    /// The excess delivered in bursts beyond the bandwidth estimate (ACK aggregation), bytes: on a host whose threads
    /// are scheduled late (a TAP on a loaded machine) ACKs come in clumps, and a window of 2 x BDP from a minimum RTT
    /// of tens of microseconds would leave the sender idle between the clumps.
    /// </summary>
    public int ExtraAcked => (int)_extraAcked.Value;

    /// <summary>
    /// The sender starts again after an idle time (nothing in flight, nothing left to send): in ProbeBW the pacing
    /// rate stays at the estimate rather than the gain (draft §4.3.4.5).
    /// </summary>
    public void OnIdleRestart(bool appLimited)
    {
        if (appLimited)
        {
            _idleRestart = true;
            if (State == BbrState.ProbeBw)
            {
                SetPacingRate(1);
            }
        }
    }

    /// <summary>
    /// An ACK delivered data: updates the model from <paramref name="sample"/> (when there is one) and returns the new
    /// congestion window for <paramref name="cwnd"/>, with <paramref name="inFlight"/> bytes outstanding after the ACK,
    /// <paramref name="newlyDelivered"/> bytes delivered by it and <paramref name="delivered"/> delivered in all.
    /// </summary>
    public int OnAck(in DeliveryRateSample? sample, long delivered, int newlyDelivered, int inFlight, int cwnd, Instant now)
    {
        _roundStart = false;
        _delivered = delivered;
        if (sample is { } rs)
        {
            // Round counting (draft §4.1.1.3): a round ends when the segment delivered was sent after it began.
            if (rs.PriorDelivered >= _nextRoundDelivered)
            {
                _nextRoundDelivered = delivered;
                Rounds++;
                _roundStart = true;
            }
            // §4.1.1.4: app-limited samples only raise the estimate.
            double rate = rs.Rate;
            if (!rs.AppLimited || rate >= Bandwidth)
            {
                _bandwidth.Update(rate, Rounds, BandwidthWindowRounds);
            }
            if (_roundStart && !rs.AppLimited)
            {
                CheckFullPipe();
            }
            UpdateMinRtt(rs.Rtt, now);
        }
        if (State == BbrState.ProbeBw)
        {
            UpdateGainCycle(inFlight, now);
        }
        if (State == BbrState.Startup && FilledPipe)
        {
            State = BbrState.Drain;
            PacingGain = 1 / HighGain;
            CwndGainNow = HighGain;
        }
        if (State == BbrState.Drain && inFlight <= TargetCwnd(1))
        {
            EnterProbeBw(now);
        }
        UpdateAckAggregation(newlyDelivered, cwnd, now);
        cwnd = UpdateProbeRtt(inFlight, cwnd, now);
        _idleRestart = false;
        if (Bandwidth > 0)
        {
            SetPacingRate(PacingGain);
        }
        return SetCwnd(cwnd, delivered, newlyDelivered);
    }

    /// <summary>A retransmission timeout collapses the window (the caller sets one segment); remembers the one before.</summary>
    public void OnTimeout(int cwnd) => _priorCwnd = Math.Max(_priorCwnd, cwnd);

    /// <summary>Loss recovery is over: the window comes back at least to what it was before the timeout.</summary>
    public int OnRecoveryDone(int cwnd)
    {
        int restored = Math.Max(cwnd, _priorCwnd);
        _priorCwnd = 0;
        return restored;
    }

    /// <summary>Draft §5.5.9: how far the deliveries of this epoch ran ahead of the bandwidth estimate, as a max over ten rounds.</summary>
    private void UpdateAckAggregation(int newlyDelivered, int cwnd, Instant now)
    {
        if (Bandwidth <= 0)
        {
            return;
        }
        double expected = Bandwidth * (now - _ackEpochStart).Microseconds / 1e6;
        if (_ackEpochAcked <= expected || _ackEpochAcked + newlyDelivered > (1 << 20))
        {
            // The deliveries fell back to the estimate (or the epoch is long): a new epoch starts.
            _ackEpochAcked = 0;
            _ackEpochStart = now;
            expected = 0;
        }
        _ackEpochAcked += newlyDelivered;
        // At most a window's worth, and at most 100 ms at the estimated bandwidth.
        double extra = Math.Min(Math.Min(_ackEpochAcked - expected, cwnd), Bandwidth / 10);
        _extraAcked.Update(Math.Max(extra, 0), Rounds, BandwidthWindowRounds);
    }

    private int SetCwnd(int cwnd, long delivered, int newlyDelivered)
    {
        int target = TargetCwnd(CwndGainNow);
        if (FilledPipe && target > 0)
        {
            target += ExtraAcked;
        }
        if (FilledPipe)
        {
            cwnd = target > 0 ? Math.Min(cwnd + newlyDelivered, target) : cwnd + newlyDelivered;
        }
        else if (cwnd < target || target == 0 || delivered < 10L * _smss)
        {
            // Startup: grow with what is delivered (as slow start) until the target is reached.
            cwnd += newlyDelivered;
        }
        cwnd = Math.Max(cwnd, MinPipeSegments * _smss);
        if (State == BbrState.ProbeRtt)
        {
            cwnd = Math.Min(cwnd, MinPipeSegments * _smss);
        }
        return cwnd;
    }

    private void SetPacingRate(double gain)
    {
        double rate = gain * Bandwidth * 0.99;
        // Before Startup ends the rate only grows: a low early sample must not slow the start.
        if (FilledPipe || rate > PacingRate)
        {
            PacingRate = rate;
        }
    }

    private void CheckFullPipe()
    {
        if (FilledPipe)
        {
            return;
        }
        if (Bandwidth >= _fullBandwidth * FullBandwidthGrowth)
        {
            _fullBandwidth = Bandwidth;
            _fullBandwidthCount = 0;
            return;
        }
        if (++_fullBandwidthCount >= FullBandwidthRounds)
        {
            FilledPipe = true;
        }
    }

    private void EnterProbeBw(Instant now)
    {
        State = BbrState.ProbeBw;
        CwndGainNow = CwndGain;
        // Never start in the draining phase (index 1): it follows a probe.
        _cycleIndex = _cycleIndex % s_pacingGains.Length;
        if (_cycleIndex == 1)
        {
            _cycleIndex = 2;
        }
        _cycleStamp = now;
        PacingGain = s_pacingGains[_cycleIndex];
    }

    /// <summary>Draft §4.3.4.3: a phase lasts a min RTT; probing up goes on until the flight reached its target, draining until the queue is gone.</summary>
    private void UpdateGainCycle(int inFlight, Instant now)
    {
        bool elapsed = now - _cycleStamp > MinRtt;
        bool next = PacingGain switch
        {
            > 1 => elapsed && inFlight >= TargetCwnd(PacingGain) - 3 * _smss,
            < 1 => elapsed || inFlight <= TargetCwnd(1),
            _ => elapsed,
        };
        if (next)
        {
            _cycleIndex = (_cycleIndex + 1) % s_pacingGains.Length;
            _cycleStamp = now;
            PacingGain = s_pacingGains[_cycleIndex];
        }
    }

    private void UpdateMinRtt(Duration rtt, Instant now)
    {
        bool expired = _hasMinRtt && now > _minRttStamp + s_minRttWindow;
        if (rtt >= Duration.Zero && (!_hasMinRtt || rtt <= MinRtt || expired))
        {
            MinRtt = Duration.Max(rtt, Duration.FromMicroseconds(1));
            _minRttStamp = now;
            _hasMinRtt = true;
        }
        if (expired && State != BbrState.ProbeRtt && !_idleRestart)
        {
            State = BbrState.ProbeRtt;
            ProbeRttCount++;
            PacingGain = 1;
            CwndGainNow = 1;
            _probeRttDone = Instant.Never;
        }
    }

    /// <summary>Draft §4.3.5: hold the flight at four segments for 200 ms and a round trip, then go back.</summary>
    private int UpdateProbeRtt(int inFlight, int cwnd, Instant now)
    {
        if (State != BbrState.ProbeRtt)
        {
            return cwnd;
        }
        if (_priorCwnd == 0)
        {
            _priorCwnd = cwnd;
        }
        if (_probeRttDone == Instant.Never)
        {
            if (inFlight <= MinPipeSegments * _smss)
            {
                _probeRttDone = now + s_probeRttDuration;
                _probeRttRoundDone = false;
                _nextRoundDelivered = _delivered;
            }
            return cwnd;
        }
        if (_roundStart)
        {
            _probeRttRoundDone = true;
        }
        if (_probeRttRoundDone && now >= _probeRttDone)
        {
            _minRttStamp = now;
            cwnd = Math.Max(cwnd, _priorCwnd);
            _priorCwnd = 0;
            if (FilledPipe)
            {
                EnterProbeBw(now);
            }
            else
            {
                State = BbrState.Startup;
                PacingGain = HighGain;
                CwndGainNow = HighGain;
            }
        }
        return cwnd;
    }

    /// <summary>
    /// A maximum over a window of rounds, kept as the best, second-best and third-best samples in later and later
    /// rounds (Kathleen Nichols' algorithm, as in the BBR paper), so an old maximum ages out without a sample log.
    /// </summary>
    private sealed class WindowedMax
    {
        private (double Value, long Round) _best;
        private (double Value, long Round) _second;
        private (double Value, long Round) _third;

        public double Value => _best.Value;

        public void Update(double value, long round, int window)
        {
            var sample = (value, round);
            if (value >= _best.Value || round - _third.Round > window)
            {
                // A new maximum, or nothing in the window: it is all three.
                _best = _second = _third = sample;
                return;
            }
            if (value >= _second.Value)
            {
                _second = _third = sample;
            }
            else if (value >= _third.Value)
            {
                _third = sample;
            }
            long age = round - _best.Round;
            if (age > window)
            {
                // The best aged out: the second and third move up.
                _best = _second;
                _second = _third;
                _third = sample;
                if (round - _best.Round > window)
                {
                    _best = _second;
                    _second = _third;
                }
            }
            else if (_second.Round == _best.Round && age > window / 4)
            {
                // A quarter of the window has passed with the best unchanged: take a fresh second-best.
                _second = _third = sample;
            }
            else if (_third.Round == _second.Round && age > window / 2)
            {
                _third = sample;
            }
        }
    }
}
