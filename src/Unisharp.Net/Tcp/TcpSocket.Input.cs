using Unisharp.Net.Wire;

namespace Unisharp.Net.Tcp;

internal sealed partial class TcpSocket
{
    /// <summary>A segment for this connection arrived (RFC 9293 §3.10.7.3 and §3.10.7.4).</summary>
    public void Process(in TcpRepr seg, ReadOnlySpan<byte> payload, Instant now)
    {
        switch (State)
        {
            case TcpState.Closed:
                return;
            case TcpState.SynSent:
                ProcessSynSent(seg, now);
                return;
        }
        _lastReceived = now;
        _keepAliveSent = 0;

        // RFC 7323 §5.3: PAWS, an old duplicate from a previous wrap of the sequence space.
        if (_tsEnabled && seg.Timestamp is { } pawsTs && !seg.Has(TcpFlags.Rst) && unchecked((int)(pawsTs.Value - _tsRecent)) < 0)
        {
            _ackNow = true;
            return;
        }

        // A retransmitted SYN while our SYN-ACK is unacknowledged: send the SYN-ACK again.
        if (State == TcpState.SynReceived && seg.Has(TcpFlags.Syn) && !seg.Has(TcpFlags.Ack) && seg.SequenceNumber == _irs)
        {
            _sndNxt = _iss;
            return;
        }

        // First: is the segment in the receive window?
        if (!IsAcceptable(seg))
        {
            if (!seg.Has(TcpFlags.Rst))
            {
                _ackNow = true;
                if (seg.SequenceNumber == _rcvNxt && seg.Has(TcpFlags.Ack) && !seg.Has(TcpFlags.Syn)
                    && State is not (TcpState.SynReceived or TcpState.TimeWait)
                    && seg.AckNumber <= _sndMax && !(_maxSndWnd > 0 && seg.AckNumber < _sndUna - _maxSndWnd))
                {
                    // RFC 9293 §3.10.7.4: with our window closed no data is acceptable, "but special allowance should be
                    // made to accept valid ACKs" (Linux takes a segment at RCV.NXT and drops only its data). Without it
                    // a peer whose ACKs ride on data probes into our zero window never gets through: in an echo at 1%
                    // loss both ends waited for the retransmission timer, 200-400 ms at a time.
                    ProcessAck(seg, seg.PayloadLength, now);
                }
                if (State == TcpState.TimeWait && seg.Has(TcpFlags.Fin))
                {
                    // RFC 9293 §3.10.7.4: the peer's FIN again (our last ACK was lost): acknowledge, restart the 2 MSL wait.
                    _stateTimerAt = now + _settings.TimeWait;
                }
            }
            return;
        }

        // RFC 7323 §4.3: remember the timestamp to echo.
        if (_tsEnabled && seg.Timestamp is { } ts && seg.SequenceNumber <= _lastAckSent)
        {
            _tsRecent = ts.Value;
        }
        if (_tsEnabled && seg.Timestamp is { Echo: not 0 } echoed && seg.SequenceNumber == _rcvNxt && seg.PayloadLength > 0)
        {
            // The receiver's round trip (RFC 7323 §4.2: the echo of our timestamp), for window auto-tuning.
            long sample = unchecked((int)(TimestampNow(now) - echoed.Echo)) * 1000L;
            if (sample >= 0)
            {
                _rcvRtt = _rcvRtt < 0 ? sample : (7 * _rcvRtt + sample) / 8;
            }
        }

        // Second: RST. RFC 5961 §3.2: only an exact match resets; one elsewhere in the window earns a challenge ACK.
        if (seg.Has(TcpFlags.Rst))
        {
            if (seg.SequenceNumber == _rcvNxt)
            {
                _layer.Stats.ResetsReceived++;
                Terminate(State is TcpState.TimeWait or TcpState.LastAck or TcpState.Closing ? null : NetworkError.ConnectionReset);
            }
            else
            {
                _ackNow |= _layer.TryChallengeAck(now);
            }
            return;
        }

        // Fourth: a SYN in a synchronized state. RFC 5961 §4.2: answer with a challenge ACK, never a reset.
        if (seg.Has(TcpFlags.Syn))
        {
            _ackNow |= _layer.TryChallengeAck(now);
            return;
        }

        // Fifth: the ACK field.
        if (!seg.Has(TcpFlags.Ack))
        {
            return;
        }
        if (State == TcpState.SynReceived)
        {
            if (seg.AckNumber > _sndUna && seg.AckNumber <= _sndMax)
            {
                if (Listener is not null && !_layer.OnPassiveEstablished(this))
                {
                    return;
                }
                Established(now);
                _sndWnd = seg.WindowLength << _sndShift;
                _maxSndWnd = Math.Max(_maxSndWnd, _sndWnd);
                _sndWl1 = seg.SequenceNumber;
                _sndWl2 = seg.AckNumber;
                // The ACK of our SYN-ACK: the SYN's sequence number is done with.
                TakeRttSample(seg, now);
                _sndUna = seg.AckNumber;
                _sndNxt = SeqNum.Max(_sndNxt, _sndUna);
                _rtxAt = Instant.Never;
                _retries = 0;
            }
            else
            {
                _layer.SendReset(Local, Remote, seg.AckNumber, default, TcpFlags.Rst, now);
                return;
            }
        }
        else
        {
            // RFC 9293 §3.10.7.4 and RFC 5961 §5.2: an ACK for data never sent (or far too old) is answered and dropped.
            if (seg.AckNumber > _sndMax || (_maxSndWnd > 0 && seg.AckNumber < _sndUna - _maxSndWnd))
            {
                _ackNow = true;
                return;
            }
            ProcessAck(seg, payload.Length, now);
        }

        // Our FIN acknowledged?
        if (_finQueued && _sndUna == _finSeq + 1)
        {
            switch (State)
            {
                case TcpState.FinWait1:
                    State = TcpState.FinWait2;
                    if (_orphan)
                    {
                        _stateTimerAt = now + _settings.FinWait2Timeout;
                    }
                    Notify();
                    break;
                case TcpState.Closing:
                    EnterTimeWait(now);
                    break;
                case TcpState.LastAck:
                    Terminate(null);
                    return;
            }
        }

        if (State == TcpState.TimeWait)
        {
            if (seg.Has(TcpFlags.Fin))
            {
                _ackNow = true;
                _stateTimerAt = now + _settings.TimeWait;
            }
            return;
        }

        // Seventh: the text; eighth: FIN.
        if (State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            ProcessText(seg, payload, now);
        }
    }

    /// <summary>RFC 9293 §3.10.7.4, the four cases of the acceptability test.</summary>
    private bool IsAcceptable(in TcpRepr seg)
    {
        int window = Math.Max(ReceiveWindow, _advertisedRight - _rcvNxt);
        int length = seg.SegmentLength;
        var seq = seg.SequenceNumber;
        if (length == 0)
        {
            return window == 0 ? seq == _rcvNxt : seq >= _rcvNxt && seq < _rcvNxt + window;
        }
        if (window == 0)
        {
            return false;
        }
        var last = seq + (length - 1);
        return (seq >= _rcvNxt && seq < _rcvNxt + window) || (last >= _rcvNxt && last < _rcvNxt + window);
    }

    private void ProcessSynSent(in TcpRepr seg, Instant now)
    {
        bool ack = seg.Has(TcpFlags.Ack);
        if (ack && (seg.AckNumber <= _iss || seg.AckNumber > _sndMax))
        {
            if (!seg.Has(TcpFlags.Rst))
            {
                _layer.SendReset(Local, Remote, seg.AckNumber, default, TcpFlags.Rst, now);
            }
            return;
        }
        if (seg.Has(TcpFlags.Rst))
        {
            if (ack)
            {
                _layer.Stats.ResetsReceived++;
                Terminate(NetworkError.ConnectionRefused);
            }
            return;
        }
        if (!seg.Has(TcpFlags.Syn))
        {
            return;
        }
        _lastReceived = now;
        _irs = seg.SequenceNumber;
        _rcvNxt = _irs + 1;
        _advertisedRight = _rcvNxt;
        _lastAckSent = _rcvNxt;
        NegotiateOptions(seg, offered: true);
        // RFC 7323 §2.2: the window of a SYN is never scaled.
        _sndWnd = seg.WindowLength;
        _maxSndWnd = _sndWnd;
        _sndWl1 = seg.SequenceNumber;
        _sndWl2 = seg.AckNumber;
        if (ack)
        {
            TakeRttSample(seg, now);
            _sndUna = seg.AckNumber;
            _sndNxt = SeqNum.Max(_sndNxt, _sndUna);
            _rtxAt = Instant.Never;
            _retries = 0;
            Established(now);
            _ackNow = true;
        }
        else
        {
            // RFC 9293 §3.5, simultaneous open: our SYN goes again, now with an ACK.
            State = TcpState.SynReceived;
            _sndNxt = _iss;
            _rtxAt = Instant.Never;
        }
    }

    private void Established(Instant now)
    {
        State = TcpState.Established;
        _lastReceived = now;
        if (_hasRtt)
        {
            // RFC 6298 §2.2 takes effect from the first sample; nothing else to do.
        }
        else if (_retries > 0)
        {
            // RFC 6298 §5.7: the SYN was retransmitted and there is no sample: start data at three seconds.
            _rto = Duration.FromSeconds(3);
        }
        Notify();
    }

    private void ProcessAck(in TcpRepr seg, int payloadLength, Instant now)
    {
        var ack = seg.AckNumber;
        int acked = ack - _sndUna;
        int window = seg.WindowLength << _sndShift;
        int sackedBefore = _scoreboard.SackedBytes;
        TakeSackBlocks(seg);
        if (acked > 0)
        {
            int dataAcked = acked;
            if (_finQueued && ack == _finSeq + 1)
            {
                dataAcked--;
            }
            _tx?.Consume(dataAcked);
            TakeRttSample(seg, now);
            int flightBefore = _sndMax - _sndUna;
            _sndUna = ack;
            _scoreboard.Prune(ack);
            if (_sndNxt < _sndUna)
            {
                _sndNxt = _sndUna;
            }
            _retries = 0;
            _probes = 0;
            OnNewAck(acked, flightBefore, now);
            _rtxAt = _sndUna == _sndMax ? Instant.Never : now + Rto;
            ArmProbe(now);
            _persistAt = Instant.Never;
            _persistBackoff = Duration.Zero;
            Notify();
        }
        else if (acked == 0 && _sndMax > _sndUna
            && ((payloadLength == 0 && !seg.Has(TcpFlags.Fin) && window == _sndWnd) || _scoreboard.SackedBytes > sackedBefore))
        {
            // RFC 5681 §2, or RFC 6675 §2: with SACK, an ACK that SACKs new data is a duplicate whatever its window
            // or payload says.
            OnDuplicateAck();
        }
        DetectLosses(now);
        if (IsBbr)
        {
            OnBbrAck(acked, now);
        }
        // RFC 9293 §3.10.7.4: take the window from the newest segment only.
        if (_sndWl1 < seg.SequenceNumber || (_sndWl1 == seg.SequenceNumber && _sndWl2 <= ack))
        {
            if (window > _sndWnd)
            {
                Notify();
            }
            _sndWnd = window;
            _maxSndWnd = Math.Max(_maxSndWnd, window);
            _sndWl1 = seg.SequenceNumber;
            _sndWl2 = ack;
        }
    }

    /// <summary>RFC 5681 §3.1 slow start and congestion avoidance; RFC 6582 §3.2 steps 3-5 inside recovery.</summary>
    private void OnNewAck(int acked, int flightBefore, Instant now)
    {
        if (IsBbr)
        {
            // BBR sets the window from its model after the ACK (OnBbrAck); only recovery's bookkeeping is left here.
            if (!_inRecovery)
            {
                _dupAcks = 0;
            }
            else if (_sndUna >= _recover)
            {
                _inRecovery = false;
                _rtoRecovery = false;
                _dupAcks = 0;
                _cwnd = _bbr?.OnRecoveryDone(_cwnd) ?? _cwnd;
            }
            else if (!_sackEnabled)
            {
                // NewReno's partial acknowledgment: the next hole is lost too.
                _retransmitNow = true;
            }
            return;
        }
        if (_inRecovery && _sackEnabled)
        {
            if (_rtoRecovery)
            {
                // After a timeout the window starts again from one segment: slow start while the holes are resent.
                if (_cwnd < _ssthresh)
                {
                    _cwnd += Math.Min(acked, _smss);
                }
                else
                {
                    _cwnd += Math.Max(1, (int)((long)_smss * Math.Min(acked, _smss) / _cwnd));
                }
            }
            if (_sndUna >= _recover)
            {
                // RFC 6675 §5: recovery ends when RecoveryPoint is acknowledged; cwnd is ssthresh (after a timeout,
                // what slow start has grown it to).
                _cwnd = _rtoRecovery ? Math.Max(_cwnd, _smss) : Math.Max(_ssthresh, _smss);
                _inRecovery = false;
                _rtoRecovery = false;
                _dupAcks = 0;
            }
            return;
        }
        if (_inRecovery)
        {
            if (_sndUna >= _recover)
            {
                // Full acknowledgment: deflate to ssthresh (RFC 6582 §3.2 step 3, option 1 bounded by the flight).
                int flight = _sndMax - _sndUna;
                _cwnd = Math.Min(_ssthresh, Math.Max(flight, _smss) + _smss);
                _inRecovery = false;
                _dupAcks = 0;
            }
            else
            {
                // Partial acknowledgment: the next hole is lost too; resend it at once.
                _retransmitNow = true;
                _cwnd = Math.Max(_cwnd - acked + (acked >= _smss ? _smss : 0), _smss);
            }
            return;
        }
        _dupAcks = 0;
        if (_cwnd < _ssthresh)
        {
            // RFC 3465 byte counting, L = one SMSS; with segmentation offload the peer acknowledges a large segment at a time.
            _cwnd += Math.Min(acked, _maxSegment);
        }
        else if (IsCubic)
        {
            CubicCongestionAvoidance(acked, now);
        }
        else
        {
            _cwnd += Math.Max(1, (int)((long)_smss * Math.Min(acked, _maxSegment) / _cwnd));
        }
        // Do not let the window grow past what could ever be in flight.
        _cwnd = Math.Min(_cwnd, Math.Max(flightBefore, _settings.SendBufferSize) + 4 * _smss);
    }

    private void ProcessText(in TcpRepr seg, ReadOnlySpan<byte> payload, Instant now)
    {
        int offset = seg.SequenceNumber - _rcvNxt;
        bool fin = seg.Has(TcpFlags.Fin);
        var finSeq = seg.SequenceNumber + payload.Length;
        if (offset < 0)
        {
            int trim = Math.Min(-offset, payload.Length);
            payload = payload[trim..];
            offset = 0;
        }
        int room = ReceiveWindow;
        if (offset + payload.Length > room)
        {
            // Beyond the window: keep what fits; the FIN is after the cut, so it is not taken either.
            payload = payload[..Math.Max(0, room - offset)];
            fin = false;
        }
        if (!payload.IsEmpty && _rx is not null)
        {
            bool hadHoles = _rx.RangeCount > 0;
            int advance = _rx.Write(offset, payload);
            if (advance < 0 || offset > 0)
            {
                // Out of order (or no room to remember it): a duplicate ACK at once tells the sender (RFC 5681 §4.2).
                _ackNow = true;
            }
            else
            {
                _rcvNxt += advance;
                if (_orphan)
                {
                    _rx.Discard();
                }
                TuneReceiveBuffer(now);
                if (hadHoles)
                {
                    _ackNow = true;
                }
                else if (++_unackedSegments >= 2 || payload.Length > _ourMss)
                {
                    // RFC 5681 §4.2: acknowledge at least every second full-sized segment (a segment over our MSS
                    // is several that a device joined).
                    _ackNow = true;
                }
                else if (_ackAt == Instant.Never)
                {
                    _ackAt = now + _settings.DelayedAck;
                }
                Notify();
            }
        }
        if (fin)
        {
            _remoteFinSeq = finSeq;
        }
        if (_remoteFinSeq is { } remoteFin && !_finReceived && _rcvNxt == remoteFin)
        {
            _rcvNxt += 1;
            _finReceived = true;
            _ackNow = true;
            switch (State)
            {
                case TcpState.Established:
                    State = TcpState.CloseWait;
                    break;
                case TcpState.FinWait1:
                    // Our FIN is not acknowledged yet (that case went to FIN-WAIT-2 above): simultaneous close.
                    State = TcpState.Closing;
                    break;
                case TcpState.FinWait2:
                    EnterTimeWait(now);
                    break;
            }
            Notify();
        }
    }

    /// <summary>
    /// Receive window auto-tuning, in the manner of Linux's dynamic right-sizing: once per receiver round trip, when the
    /// peer delivered at least half the buffer in that time while the app kept up (less than half of it unread), the
    /// window is what limits the sender: double the buffer, within the per-connection and total bounds.
    /// </summary>
    private void TuneReceiveBuffer(Instant now)
    {
        if (_rx is null || _rx.Capacity >= MaxReceiveBuffer || !_wsEnabled || _rcvRtt < 0)
        {
            return;
        }
        if (_tuneStart == Instant.Never)
        {
            _tuneStart = now;
            _tuneSeq = _rcvNxt;
            return;
        }
        if ((now - _tuneStart).Microseconds < Math.Max(_rcvRtt, 1000))
        {
            return;
        }
        int delivered = _rcvNxt - _tuneSeq;
        if (delivered >= _rx.Capacity / 2 && _rx.Readable < _rx.Capacity / 2 && _layer.TryGrowReceiveBuffer(_rx))
        {
            // The window opened: tell the sender now.
            _ackNow = true;
        }
        _tuneStart = now;
        _tuneSeq = _rcvNxt;
    }

    private void EnterTimeWait(Instant now)
    {
        State = TcpState.TimeWait;
        _stateTimerAt = now + _settings.TimeWait;
        _rtxAt = Instant.Never;
        _persistAt = Instant.Never;
        _layer.OnTimeWait(this);
        Notify();
    }

    /// <summary>Ends the connection at once (reset, timeout or the normal end of LAST-ACK and TIME-WAIT).</summary>
    internal void Terminate(NetworkError? error)
    {
        if (State == TcpState.Closed)
        {
            return;
        }
        State = TcpState.Closed;
        Error ??= error;
        _rtxAt = Instant.Never;
        _persistAt = Instant.Never;
        _ackAt = Instant.Never;
        _stateTimerAt = Instant.Never;
        _probeAt = Instant.Never;
        _reorderAt = Instant.Never;
        _ackNow = false;
        _retransmitNow = false;
        Notify();
    }

    private void Notify() => _layer.QueueNotify(this);
}
