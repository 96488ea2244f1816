using Unisharp.Net.Wire;

namespace Unisharp.Net.Tcp;

/// <summary>
/// Retransmission, in one place: the round-trip estimate and the retransmission timer (RFC 6298), fast retransmit
/// (RFC 5681, NewReno RFC 6582), SACK loss recovery (RFC 6675) with RACK's time-based loss detection (RFC 8985 §6:
/// a hole is lost once data sent after it was delivered and a reordering window has passed; the same rule finds
/// lost retransmissions) and tail loss probes (RFC 8985 §7).
/// </summary>
internal sealed partial class TcpSocket
{
    /// <summary>RFC 6298 §2.1: before any RTT sample the RTO is one second.</summary>
    private static readonly Duration s_initialRto = Duration.FromSeconds(1);
    /// <summary>RFC 6298 §2.4 asks for a one-second floor; like Linux we use 200 ms, which RFC 6298 allows a host to choose.</summary>
    private static readonly Duration s_minRto = Duration.FromMilliseconds(200);
    private static readonly Duration s_minProbe = Duration.FromMicroseconds(500);
    private static readonly Duration s_worstDelayedAck = Duration.FromMilliseconds(200);
    private static readonly Duration s_maxRto = Duration.FromSeconds(60);
    /// <summary>The least reordering window.</summary>
    private static readonly Duration s_minReorderWindow = Duration.FromMicroseconds(100);

    // Round trip and retransmission timer (RFC 6298). _rto is the estimate's RTO; a timeout doubles the RTO in use
    // (Rto, by _retries) until new data is acknowledged, which brings it back to the estimate (RFC 6298 §5.5, §5.7).
    private Duration _rto = s_initialRto;
    private long _srtt;
    private long _rttvar;
    private bool _hasRtt;
    private int _retries;
    private Instant _rtxAt = Instant.Never;
    private bool _rttTiming;
    private SeqNum _rttSeq;
    private Instant _rttStart;
    private bool _retransmitNow;

    // Loss recovery.
    private int _dupAcks;
    private bool _inRecovery;
    private SeqNum _recover;
    private readonly TcpSackScoreboard _scoreboard = new();
    // RFC 6675 §2: HighRxt, the highest sequence number retransmitted in this recovery.
    private SeqNum _highRxt;
    // SND.MAX when the latest retransmission went out: data SACKed above it was sent after every retransmission, so a
    // hole still open below HighRxt then lost its retransmission (RFC 8985 RACK, with sequence order for send order).
    private SeqNum _rxtSndMax;
    // Recovery after a retransmission timeout with SACK: everything unSACKed below _lostMark counts as lost.
    private bool _rtoRecovery;
    private SeqNum _lostMark;
    // RFC 8985 §6.3: the reordering timer; when it fires, holes below SACKed data (or below data sent after the
    // retransmissions) are lost.
    private Instant _reorderAt = Instant.Never;
    // RFC 8985 §7: the tail loss probe timer.
    private Instant _probeAt = Instant.Never;
    // Probes sent since data was last acknowledged (or the last timeout): each waits twice as long as the one before.
    private int _probes;

    public Duration RetransmissionTimeout => Rto;

    /// <summary>SRTT (RFC 6298), zero before the first sample.</summary>
    internal Duration SmoothedRtt => Duration.FromMicroseconds(_srtt);

    /// <summary>Retransmissions sent (timeouts and fast retransmits), for tests and statistics.</summary>
    public long Retransmissions { get; private set; }

    public long FastRetransmits { get; private set; }

    /// <summary>Retransmissions found lost during SACK recovery and sent again before the timer.</summary>
    public long LostRetransmissions { get; private set; }

    /// <summary>Tail loss probes sent (RFC 8985 §7).</summary>
    public long TailLossProbes { get; private set; }

    /// <summary>Loss recoveries driven by SACK information (RFC 6675).</summary>
    public long SackRecoveries { get; private set; }

    /// <summary>Recoveries started by the reordering timer (RFC 8985 §6) rather than by three duplicates' worth of SACKs.</summary>
    public long ReorderTimeouts { get; private set; }

    public long Timeouts { get; private set; }

    /// <summary>The RTO in use: the estimate's, doubled for each timeout since data was last acknowledged.</summary>
    private Duration Rto => Duration.Min(_rto * (1L << Math.Min(_retries, 16)), s_maxRto);

    /// <summary>The earliest of the retransmission, reordering and probe timers.</summary>
    private Instant RetransmissionTimerAt => Instant.Min(_rtxAt, Instant.Min(_reorderAt, _probeAt));

    /// <summary>
    /// RFC 8985 §6.2: how long a hole may wait behind later data before it counts as lost. RFC 8985 starts at a quarter
    /// of the minimum RTT and widens it (up to SRTT) when DSACKs show the losses were reordering; we have no DSACKs, so
    /// half the smoothed RTT: on a 2 ms path with frames held back 1 ms, a quarter took reordering for loss (10% more
    /// recoveries, 13% slower in the simulator).
    /// </summary>
    private Duration ReorderWindow => Duration.Max(Duration.FromMicroseconds(_srtt / 2), s_minReorderWindow);

    /// <summary>Runs the reordering, probe and retransmission timers that are due; false when the connection ended.</summary>
    private bool RunRetransmissionTimers(ITcpSegmentSink sink, Instant now)
    {
        if (now >= _reorderAt)
        {
            OnReorderTimeout();
        }
        if (now >= _probeAt && now < _rtxAt)
        {
            SendProbe(sink, now);
        }
        if (now >= _rtxAt)
        {
            OnRetransmissionTimeout(now);
            if (State == TcpState.Closed)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>In SACK recovery with room in the pipe and a hole left to resend.</summary>
    private bool SackHoleDue =>
        _inRecovery && _sackEnabled && Pipe() < _cwnd && _scoreboard.NextHole(SeqNum.Max(_highRxt, _sndUna), LostEnd, out _, out _);

    /// <summary>Where the bytes taken as lost end: the highest SACKed byte, or after a timeout all that was sent then.</summary>
    private SeqNum LostEnd
    {
        get
        {
            var high = _scoreboard.HighSacked(_sndUna);
            return _rtoRecovery ? SeqNum.Max(high, SeqNum.Max(_lostMark, _sndUna)) : high;
        }
    }

    /// <summary>
    /// RFC 6675 §4 SetPipe, simplified: bytes in flight, less those SACKed, less the holes below the highest SACK
    /// (taken as lost), plus the holes already resent in this recovery.
    /// </summary>
    private int Pipe()
    {
        int flight = _sndMax - _sndUna;
        var high = LostEnd;
        int lost = _scoreboard.HoleBytes(_sndUna, high);
        int resent = _scoreboard.HoleBytes(_sndUna, SeqNum.Min(SeqNum.Max(_highRxt, _sndUna), high));
        return Math.Max(0, flight - _scoreboard.SackedBytes - lost + resent);
    }

    /// <summary>
    /// Sends what recovery asks for: SND.UNA's segment after three duplicates without SACK (or a partial ACK), and in
    /// SACK recovery the holes while the pipe has room (RFC 6675 §5 step (C), NextSeg rule 1). True when anything went out.
    /// </summary>
    private bool SendRetransmissions(ITcpSegmentSink sink, Instant now)
    {
        bool sent = false;
        if (_retransmitNow)
        {
            _retransmitNow = false;
            int length = Math.Min(SegmentRoom, DataLength(_sndUna, _sndMax));
            if (length > 0 || (_finQueued && _sndMax == _finSeq + 1))
            {
                bool fin = _finQueued && _sndUna + length == _finSeq && _sndMax == _finSeq + 1;
                Retransmit(sink, _sndUna, length, TcpFlags.Ack | (fin ? TcpFlags.Fin : 0), now);
                sent = true;
                if (_inRecovery)
                {
                    ArmProbe(now);
                }
            }
        }
        if (_inRecovery && _sackEnabled)
        {
            int pipe = Pipe();
            var from = SeqNum.Max(_highRxt, _sndUna);
            var lostEnd = LostEnd;
            while (pipe < _cwnd && _scoreboard.NextHole(from, lostEnd, out var start, out int hole))
            {
                int length = Math.Min(hole, SegmentRoom);
                Retransmit(sink, start, length, TcpFlags.Ack, now);
                sent = true;
                _highRxt = start + length;
                from = _highRxt;
                pipe += length;
                // Two round trips from the newest retransmission until it counts as lost.
                ArmProbe(now);
            }
        }
        return sent;
    }

    private void Retransmit(ITcpSegmentSink sink, SeqNum seq, int length, TcpFlags flags, Instant now)
    {
        _rttTiming = false;
        Retransmissions++;
        _layer.Stats.Retransmissions++;
        SendSegment(sink, seq, length, flags, now);
        _rxtSndMax = _sndMax;
        if (_rtxAt == Instant.Never)
        {
            _rtxAt = now + Rto;
        }
    }

    /// <summary>Records the SACK blocks of an ACK in the scoreboard.</summary>
    private void TakeSackBlocks(in TcpRepr seg)
    {
        if (!_sackEnabled)
        {
            return;
        }
        var ack = seg.AckNumber;
        for (int i = 0; i < seg.SackBlocks.Count; i++)
        {
            var (left, right) = seg.SackBlocks[i];
            // RFC 2018 §4 / RFC 6675: only blocks inside what we sent and above the cumulative ACK count.
            if (_finQueued && right > _finSeq)
            {
                // Only data is SACKed; a block that claims our FIN is cut back to the data.
                right = _finSeq;
            }
            if (left >= ack && right <= _sndMax && left < right)
            {
                _scoreboard.Add(left, right);
            }
        }
    }

    /// <summary>
    /// After an ACK with SACK: RFC 6675 §5's duplicate threshold (more than two segments SACKed above a hole) starts
    /// recovery at once; less than that arms the reordering timer (RFC 8985 §6.2). In recovery, data SACKed that was
    /// sent after the latest retransmission arms it too: a hole still open below HighRxt then lost its retransmission.
    /// </summary>
    private void DetectLosses(Instant now)
    {
        if (!_sackEnabled)
        {
            return;
        }
        if (!_inRecovery)
        {
            if (!MayEnterRecovery || !_scoreboard.NextHole(_sndUna, out _, out _))
            {
                _reorderAt = Instant.Never;
            }
            else if (_scoreboard.SackedAbove(_sndUna) > 2 * _smss)
            {
                _reorderAt = Instant.Never;
                EnterRecovery();
            }
            else if (_reorderAt == Instant.Never)
            {
                _reorderAt = now + ReorderWindow;
            }
            return;
        }
        if (LostRetransmissionSeen)
        {
            if (_scoreboard.SackedAbove(_rxtSndMax) > 2 * _smss)
            {
                _reorderAt = Instant.Never;
                RetransmitHolesAgain();
            }
            else if (_reorderAt == Instant.Never)
            {
                _reorderAt = now + ReorderWindow;
            }
        }
        else
        {
            _reorderAt = Instant.Never;
        }
    }

    /// <summary>In SACK recovery, data sent after the latest retransmission is SACKed while a hole below HighRxt is open.</summary>
    private bool LostRetransmissionSeen =>
        _highRxt > _sndUna && _scoreboard.SackedAbove(_rxtSndMax) > 0 && _scoreboard.NextHole(_sndUna, out var hole, out _) && hole < _highRxt;

    /// <summary>RFC 8985 §6.3: the reordering window passed; what it watched is lost.</summary>
    private void OnReorderTimeout()
    {
        _reorderAt = Instant.Never;
        if (!_sackEnabled)
        {
            return;
        }
        if (!_inRecovery)
        {
            if (MayEnterRecovery && _scoreboard.NextHole(_sndUna, out _, out _))
            {
                ReorderTimeouts++;
                EnterRecovery();
            }
        }
        else if (LostRetransmissionSeen)
        {
            RetransmitHolesAgain();
        }
    }

    /// <summary>The retransmissions below HighRxt are lost too: the recovery loop resends the holes from SND.UNA.</summary>
    private void RetransmitHolesAgain()
    {
        _highRxt = _sndUna;
        _rxtSndMax = _sndMax;
        LostRetransmissions++;
    }

    /// <summary>
    /// RFC 6298 §3: one timed segment at a time, in microseconds, with Karn's rule (a retransmission stops the timing).
    /// Timestamps (RFC 7323 §4.1) give a sample only until the first timed one: they tick in milliseconds, too coarse
    /// for the reordering window and the probe timeout on a path with a round trip of a fraction of one.
    /// </summary>
    private void TakeRttSample(in TcpRepr seg, Instant now)
    {
        long sample = -1;
        if (_rttTiming && seg.AckNumber > _rttSeq)
        {
            sample = (now - _rttStart).Microseconds;
            _rttTiming = false;
        }
        else if (!_hasRtt && _tsEnabled && seg.Timestamp is { Echo: not 0 } ts && _retries == 0)
        {
            // Karn's rule for timestamps too while the timer has fired: the receiver echoes TS.Recent, which a
            // duplicate of a retransmission does not move, so an ACK lost on the way back would turn into a sample of
            // seconds (seen at 10% loss: a 2.8 s sample, then a 9.5 s RTO and a 22 s stall).
            sample = unchecked((int)(TimestampNow(now) - ts.Echo)) * 1000L;
        }
        if (sample < 0)
        {
            return;
        }
        // RFC 6298 §2.2 and §2.3 (alpha 1/8, beta 1/4, K 4), with a clock granularity of 1 ms.
        if (!_hasRtt)
        {
            _srtt = sample;
            _rttvar = sample / 2;
            _hasRtt = true;
        }
        else
        {
            _rttvar = (3 * _rttvar + Math.Abs(_srtt - sample)) / 4;
            _srtt = (7 * _srtt + sample) / 8;
        }
        var rto = Duration.FromMicroseconds(_srtt + Math.Max(1000, 4 * _rttvar));
        _rto = Duration.Min(Duration.Max(rto, s_minRto), s_maxRto);
    }

    /// <summary>RFC 5681 §3.2 and RFC 6582 §3.2 steps 1-2: three duplicates start fast retransmit.</summary>
    private void OnDuplicateAck()
    {
        _dupAcks++;
        if (_inRecovery)
        {
            // NewReno inflates the window per duplicate; with SACK the pipe estimate does that job.
            if (!_sackEnabled && !IsBbr)
            {
                _cwnd += _smss;
            }
            return;
        }
        if (_dupAcks >= 3 && MayEnterRecovery)
        {
            EnterRecovery();
        }
    }

    /// <summary>
    /// RFC 6582 §3.2 step 2: without SACK, only duplicates of an ACK beyond the last recovery point start another;
    /// with SACK (RFC 6675 §5) the end of the last recovery is enough: the segment at its point can be lost too.
    /// </summary>
    private bool MayEnterRecovery => _sackEnabled ? _sndUna >= _recover : _sndUna - 1 >= _recover;

    private void EnterRecovery()
    {
        int flight = _sndMax - _sndUna;
        _ssthresh = SsthreshAfterLoss(flight);
        _recover = _sndMax;
        _inRecovery = true;
        _rtoRecovery = false;
        _rxtSndMax = _sndMax;
        _reorderAt = Instant.Never;
        FastRetransmits++;
        _layer.Stats.FastRecoveries++;
        if (_sackEnabled)
        {
            // RFC 6675 §5 step (4): cwnd = ssthresh, HighRxt starts at SND.UNA; the pipe loop resends the holes.
            _cwnd = _ssthresh;
            _highRxt = _sndUna;
            SackRecoveries++;
            _layer.Stats.SackRecoveries++;
            if (!_scoreboard.NextHole(_sndUna, out _, out _))
            {
                // Three duplicates without SACK blocks: resend the first segment as NewReno would.
                _retransmitNow = true;
            }
        }
        else
        {
            _cwnd = _ssthresh + 3 * _smss;
            _retransmitNow = true;
        }
    }

    /// <summary>
    /// RFC 8985 §7.2: with data in flight, a probe goes out two round trips after the last send or ACK, so a loss at
    /// the tail of a small window is found by SACK recovery instead of the timer. In recovery with retransmissions
    /// out, the same timer takes them as lost when the ACK does not pass them (with SACK the holes from SND.UNA,
    /// without it SND.UNA's segment, as NewReno would on a partial ACK).
    /// </summary>
    /// <remarks>
    /// Beyond RFC 8985, which sends one probe and then waits for the RTO: with a round trip of a few milliseconds
    /// the 200 ms RTO floor is a hundred round trips, and at 10% loss each way one probe in five is lost or its ACK
    /// is. So while no ACK comes the probes go on, each waiting twice as long as the one before, until the RTO is
    /// due: a handful of segments per RTO at most. After a timeout one probe goes out before the next (backed-off)
    /// timeout, so a lost retransmission of the timeout costs two round trips, not another RTO.
    /// </remarks>
    private void ArmProbe(Instant now)
    {
        _probeAt = Instant.Never;
        if ((_retries > 0 && _probes > 0) || _sndMax == _sndUna || _sndNxt != _sndMax || !_hasRtt
            || State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck))
        {
            return;
        }
        var pto = Duration.Max(Duration.FromMicroseconds(2 * _srtt), s_minProbe) * (1L << Math.Min(_probes, 16));
        if (_sndMax - _sndUna <= _smss)
        {
            // One segment out: the peer may hold its ACK for the delayed ACK timer (RFC 8985 §7.2, WCDelAckT).
            pto += s_worstDelayedAck;
        }
        var at = now + pto;
        if (at < _rtxAt)
        {
            _probeAt = at;
        }
    }

    /// <summary>RFC 8985 §7.3: one new segment when the windows allow, else the last one sent again.</summary>
    private void SendProbe(ITcpSegmentSink sink, Instant now)
    {
        _probeAt = Instant.Never;
        bool first = _probes == 0 && _retries == 0;
        _probes++;
        if (_inRecovery && !_sackEnabled)
        {
            // NewReno: no partial ACK two round trips after resending SND.UNA: that copy was lost too.
            _retransmitNow = true;
            LostRetransmissions++;
            return;
        }
        if (_inRecovery && _highRxt > _sndUna)
        {
            // Two round trips without the cumulative ACK moving past our retransmissions: take them as lost
            // too and let the recovery loop resend the holes (RFC 8985's reordering timer, by round trips).
            RetransmitHolesAgain();
            return;
        }
        if (_sndMax == _sndUna || _sndNxt != _sndMax)
        {
            return;
        }
        int unsent = UnsentLength;
        int room = _sndWnd - (_sndNxt - _sndUna);
        int length = Math.Min(Math.Min(unsent, SegmentRoom), room);
        bool finInFlight = _finQueued && _sndMax == _finSeq + 1;
        if (length > 0 && !finInFlight)
        {
            bool fin = _finQueued && length == unsent && _sndNxt + length == _finSeq;
            SendSegment(sink, _sndNxt, length, TcpFlags.Ack | TcpFlags.Psh | (fin ? TcpFlags.Fin : 0), now);
            _sndNxt += length + (fin ? 1 : 0);
            _sndMax = SeqNum.Max(_sndMax, _sndNxt);
        }
        else
        {
            length = Math.Min(SegmentRoom, DataLength(_sndUna, _sndMax));
            var dataEnd = finInFlight ? _finSeq : _sndMax;
            Retransmissions++;
            _layer.Stats.Retransmissions++;
            SendSegment(sink, dataEnd - length, length, TcpFlags.Ack | (finInFlight ? TcpFlags.Fin : 0), now);
        }
        _rttTiming = false;
        TailLossProbes++;
        _layer.Stats.TailLossProbes++;
        if (first)
        {
            // RFC 8985 §7.3: the RTO restarts after the probe; later probes leave it where it is.
            _rtxAt = now + Rto;
        }
        ArmProbe(now);
    }

    /// <summary>RFC 6298 §5.4-5.6: resend the oldest segment, back off; RFC 5681 §3.1: collapse the window.</summary>
    private void OnRetransmissionTimeout(Instant now)
    {
        _rtxAt = Instant.Never;
        _probeAt = Instant.Never;
        _reorderAt = Instant.Never;
        _probes = 0;
        if (_sndUna == _sndMax && !SynDue && State is not (TcpState.SynSent or TcpState.SynReceived))
        {
            return;
        }
        _retries++;
        Timeouts++;
        _layer.Stats.Timeouts++;
        bool syn = State is TcpState.SynSent or TcpState.SynReceived;
        if (_retries > (syn ? _settings.MaxSynRetransmissions : _settings.MaxRetransmissions))
        {
            Terminate(NetworkError.TimedOut);
            return;
        }
        _rttTiming = false;
        // RFC 6298 §5.5: the timer runs on, backed off, even when the window lets nothing out now (a zero window
        // after a go-back-N timeout left no timer at all: seen in the simulator as a connection stalled for good).
        _rtxAt = now + Rto;
        if (syn)
        {
            _sndNxt = _iss;
            return;
        }
        int flight = _sndMax - _sndUna;
        if (_retries == 1)
        {
            // RFC 5681 §3.1: a timeout of a retransmission does not halve the window again.
            _ssthresh = SsthreshAfterLoss(flight);
        }
        _bbr?.OnTimeout(_cwnd);
        _cwnd = _smss;
        _dupAcks = 0;
        bool finInFlight = _finQueued && _sndMax == _finSeq + 1;
        if (_sackEnabled && _retries == 1 && !finInFlight)
        {
            // Keep what the peer SACKed and resend only the rest, from SND.UNA, in slow start (as Linux's loss state
            // does); a second timeout in a row forgets the scoreboard (the peer may have reneged, RFC 6675 §5.1).
            _inRecovery = true;
            _rtoRecovery = true;
            _recover = _sndMax;
            _lostMark = _sndMax;
            _highRxt = _sndUna;
            _rxtSndMax = _sndMax;
            return;
        }
        _inRecovery = false;
        _rtoRecovery = false;
        // RFC 6582 §3.2 step 7 (after a timeout): no fast retransmit for what was sent before it.
        _recover = _sndMax;
        // Go back N: everything from SND.UNA is sent again as the window opens. RFC 6675 §5.1 lets the SACK
        // information go; the peer will report it again.
        _scoreboard.Clear();
        _highRxt = _sndUna;
        _sndNxt = _sndUna;
    }
}
