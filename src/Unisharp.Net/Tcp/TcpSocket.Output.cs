using Unisharp.Net.Wire;

namespace Unisharp.Net.Tcp;

internal sealed partial class TcpSocket
{
    /// <summary>When <see cref="Poll"/> must next run: now when something can be sent, else the earliest timer.</summary>
    public Instant PollAt(Instant now)
    {
        if (State == TcpState.Closed)
        {
            return Instant.Never;
        }
        int next = NextSegmentLength(out bool fin);
        bool paced = next > 0 && PacingHolds(now);
        if (_rstPending || _ackNow || _retransmitNow || SynDue || ((next > 0 || fin) && !paced) || SackHoleDue || PersistDue)
        {
            return now;
        }
        var at = Instant.Min(Instant.Min(RetransmissionTimerAt, _ackAt), Instant.Min(_persistAt, _stateTimerAt));
        if (paced)
        {
            // Pacing: the next burst is due then (the layer files the connection under it; no polling before).
            at = Instant.Min(at, PacingReleaseAt);
        }
        at = Instant.Min(at, IsCloseDone ? Instant.Never : _lingerAt);
        return Instant.Min(at, KeepAliveAt);
    }

    private bool SynDue => State is TcpState.SynSent or TcpState.SynReceived && _sndNxt == _iss;

    /// <summary>
    /// Data waits with nothing in flight and the persist timer is not armed: Poll arms it. Without this a zero window
    /// that came on an ACK while nothing else was due left no timer at all, and a lost window update stalled the
    /// connection for good (seen in the simulator: an echo at 10% loss both ways, its client's window closed).
    /// </summary>
    private bool PersistDue => _persistAt == Instant.Never && UnsentLength > 0 && _sndNxt == _sndMax && _sndUna == _sndNxt;

    /// <summary>Only an idle connection probes: with data outstanding the retransmission timer watches the peer.</summary>
    private Instant KeepAliveAt =>
        KeepAlive && State == TcpState.Established && _sndNxt == _sndUna && UnsentLength == 0
            ? _lastReceived + _settings.KeepAliveIdle + _settings.KeepAliveInterval * _keepAliveSent
            : Instant.Never;

    /// <summary>Runs the timers that are due and sends what the windows allow.</summary>
    public void Poll(Instant now, ITcpSegmentSink sink)
    {
        if (State == TcpState.Closed)
        {
            return;
        }
        if (_rstPending)
        {
            // RFC 9293 §3.10.4 (ABORT): <SEQ=SND.NXT><CTL=RST>.
            _rstPending = false;
            _layer.SendReset(Local, Remote, _sndNxt, default, TcpFlags.Rst, now);
            Terminate(NetworkError.Closed);
            return;
        }
        if (now >= _lingerAt && !IsCloseDone)
        {
            // The linger time of a close is over and our FIN is still unacknowledged: reset (as SO_LINGER does).
            _lingerAt = Instant.Never;
            Error ??= NetworkError.TimedOut;
            _layer.SendReset(Local, Remote, _sndNxt, default, TcpFlags.Rst, now);
            Terminate(NetworkError.TimedOut);
            return;
        }
        if (now >= _stateTimerAt)
        {
            // TIME-WAIT's 2 MSL, or an orphan's FIN-WAIT-2 limit.
            Terminate(null);
            return;
        }
        if (!RunRetransmissionTimers(sink, now))
        {
            return;
        }
        if (now >= _ackAt)
        {
            _ackNow = true;
        }
        if (now >= KeepAliveAt)
        {
            if (_keepAliveSent >= _settings.KeepAliveProbes)
            {
                Terminate(NetworkError.TimedOut);
                return;
            }
            // RFC 9293 §3.8.4: a segment with SEG.SEQ = SND.NXT-1 makes the peer answer with an ACK.
            _keepAliveSent++;
            _layer.Stats.KeepAlivesSent++;
            SendSegment(sink, _sndNxt - 1, 0, TcpFlags.Ack, now);
        }
        if (SynDue)
        {
            SendSyn(sink, now);
            return;
        }
        if (State is TcpState.SynSent or TcpState.SynReceived)
        {
            if (_ackNow && State == TcpState.SynReceived)
            {
                SendSegment(sink, _sndNxt, 0, TcpFlags.Ack, now);
            }
            _ackNow = false;
            return;
        }
        bool sent = SendRetransmissions(sink, now);
        while (true)
        {
            int length = NextSegmentLength(out bool fin);
            if ((length == 0 && !fin) || (length > 0 && PacingHolds(now)))
            {
                break;
            }
            var flags = TcpFlags.Ack | (fin ? TcpFlags.Fin : 0);
            if (length > 0 && length == UnsentLength)
            {
                flags |= TcpFlags.Psh;
            }
            if (_sndNxt < _sndMax)
            {
                Retransmissions++;
                _layer.Stats.Retransmissions++;
            }
            else if (!_rttTiming && length > 0)
            {
                _rttTiming = true;
                _rttSeq = _sndNxt;
                _rttStart = now;
            }
            SendSegment(sink, _sndNxt, length, flags, now);
            sent = true;
            _sndNxt += length + (fin ? 1 : 0);
            _sndMax = SeqNum.Max(_sndMax, _sndNxt);
            if (_rtxAt == Instant.Never)
            {
                _rtxAt = now + Rto;
            }
            if (_probeAt == Instant.Never)
            {
                ArmProbe(now);
            }
        }
        if (IsBbr)
        {
            CheckAppLimited(now);
        }
        // RFC 9293 §3.8.6.1 and §3.8.6.2.1: data waits, nothing is in flight and the window is closed (or too small to
        // send under SWS avoidance): a persist timer probes, so a lost window update cannot stall us forever.
        if (UnsentLength > 0 && _sndNxt == _sndMax && _sndUna == _sndNxt && !sent)
        {
            if (_persistAt == Instant.Never)
            {
                _persistBackoff = _persistBackoff == Duration.Zero ? Rto : Duration.Min(_persistBackoff * 2, s_maxRto);
                _persistAt = now + _persistBackoff;
            }
            else if (now >= _persistAt)
            {
                _persistAt = Instant.Never;
                int usable = Math.Min(Math.Min(_sndWnd, _cwnd), Math.Min(UnsentLength, SegmentRoom));
                if (usable > 0)
                {
                    // The override timeout: send what the small window takes.
                    bool fin = _finQueued && usable == UnsentLength && _sndNxt + usable == _finSeq;
                    SendSegment(sink, _sndNxt, usable, TcpFlags.Ack | TcpFlags.Psh | (fin ? TcpFlags.Fin : 0), now);
                    _sndNxt += usable + (fin ? 1 : 0);
                    _sndMax = SeqNum.Max(_sndMax, _sndNxt);
                    _rtxAt = now + Rto;
                }
                else
                {
                    _layer.Stats.WindowProbesSent++;
                    SendSegment(sink, _sndNxt - 1, 0, TcpFlags.Ack, now);
                }
                sent = true;
            }
        }
        else
        {
            _persistAt = Instant.Never;
            if (sent)
            {
                _persistBackoff = Duration.Zero;
            }
        }
        if (!sent && _ackNow)
        {
            SendSegment(sink, _sndNxt, 0, TcpFlags.Ack, now);
        }
    }

    /// <summary>
    /// The most data one MTU-sized segment carries now: SMSS less the SACK blocks that go with it (RFC 6691: options
    /// come off the MSS). A full SMSS segment with SACK blocks was 12-28 bytes over the MTU and went out as IP fragments,
    /// which our receiver does not reassemble: with data both ways under loss, a retransmission never arrived.
    /// </summary>
    private int SegmentRoom
    {
        get
        {
            int blocks = _sackEnabled && _rx is not null ? Math.Min(_rx.RangeCount, _tsEnabled ? 3 : 4) : 0;
            if (blocks == 0)
            {
                return _smss;
            }
            // Two NOPs, kind, length and 8 bytes a block (as TcpRepr emits them).
            return _smss - (4 + 8 * blocks);
        }
    }

    /// <summary>Data bytes between two sequence numbers in the send buffer (the FIN is not data).</summary>
    private int DataLength(SeqNum from, SeqNum to)
    {
        int length = to - from;
        if (_finQueued && to == _finSeq + 1)
        {
            length--;
        }
        return Math.Max(0, length);
    }

    /// <summary>Bytes in the send buffer not yet sent (from SND.NXT).</summary>
    private int UnsentLength
    {
        get
        {
            if (_tx is null || !SynAcked)
            {
                return 0;
            }
            int sent = _sndNxt - _sndUna;
            return Math.Max(0, _tx.Length - sent);
        }
    }

    /// <summary>
    /// How many bytes the next new segment may carry under the send and congestion windows, sender-side silly window
    /// avoidance and Nagle (RFC 9293 §3.8.6.2.1, RFC 896); <paramref name="fin"/> when it may also carry our FIN.
    /// </summary>
    private int NextSegmentLength(out bool fin)
    {
        fin = false;
        if (State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.Closing or TcpState.LastAck))
        {
            return 0;
        }
        if (_finQueued && _sndNxt == _finSeq + 1)
        {
            return 0;
        }
        int unsent = UnsentLength;
        int inFlight = _sndNxt - _sndUna;
        // RFC 3042 Limited Transmit: each of the first two duplicate ACKs lets one new segment out, so a small window
        // still gathers the three duplicates fast retransmit needs.
        // With SACK the bytes the peer holds count too, so a lost duplicate ACK does not take the allowance away.
        int limited = _inRecovery ? 0 : Math.Min(2, _dupAcks) * _smss;
        if (!_inRecovery && _sackEnabled)
        {
            limited = Math.Max(limited, Math.Min(_scoreboard.SackedBytes, 2 * _smss));
        }
        // The allowance is in whole segments (RFC 3042 §2): a window of 2.9 segments plus two lets two more out.
        int window = Math.Min(_sndWnd, (limited > 0 ? (_cwnd + _smss - 1) / _smss * _smss : _cwnd) + limited);
        int usable = Math.Max(0, window - inFlight);
        if (_inRecovery && _sackEnabled)
        {
            // RFC 6675 §5 (C): new data goes out only while the pipe, not the flight, is under cwnd.
            usable = Math.Max(0, Math.Min(_sndWnd - inFlight, _cwnd - Pipe()));
        }
        // Without segmentation offload a segment must fit the MTU with the SACK blocks it carries.
        int mss = _maxSegment > _smss ? _smss : SegmentRoom;
        int length = Math.Min(Math.Min(unsent, usable), _maxSegment > _smss ? _maxSegment : mss);
        if (length > _smss && length < unsent)
        {
            // A large segment for the device to cut: whole segments only, the rest waits for more room or data.
            length -= length % _smss;
        }
        if (length < unsent && length < mss)
        {
            // Only part of a segment fits: wait unless the peer's window is at least half open (SWS avoidance).
            if (length < _maxSndWnd / 2 || inFlight > 0)
            {
                length = 0;
            }
        }
        else if (length > 0 && length < mss && inFlight > 0 && !NoDelay && !_finQueued)
        {
            // Nagle: one small segment in flight at a time.
            length = 0;
        }
        fin = _finQueued && length == unsent && _sndNxt + length == _finSeq;
        return length;
    }

    private void SendSyn(ITcpSegmentSink sink, Instant now)
    {
        bool synAck = State == TcpState.SynReceived;
        var repr = new TcpRepr(Local.Port, Remote.Port, _iss, synAck ? _rcvNxt : default,
            TcpFlags.Syn | (synAck ? TcpFlags.Ack : 0), (ushort)Math.Min(ReceiveCapacity, ushort.MaxValue))
        {
            MaxSegmentSize = (ushort)_ourMss,
            // A passive open answers only with the options the SYN offered (RFC 7323 §2.2, §3.2; RFC 2018 §2).
            WindowScale = !synAck || _wsEnabled ? (byte)ScaleFor(MaxReceiveBuffer) : null,
            SackPermitted = synAck ? _sackEnabled : _settings.Sack,
            Timestamp = !synAck || _tsEnabled ? new TcpTimestamp(TimestampNow(now), synAck ? _tsRecent : 0) : null,
        };
        Emit(sink, repr, 0, now);
        _sndNxt = _iss + 1;
        _sndMax = SeqNum.Max(_sndMax, _sndNxt);
        if (!_rttTiming && _retries == 0)
        {
            _rttTiming = true;
            _rttSeq = _iss;
            _rttStart = now;
        }
        _rtxAt = now + Rto;
    }

    private void SendSegment(ITcpSegmentSink sink, SeqNum seq, int length, TcpFlags flags, Instant now)
    {
        int window = ReceiveWindow;
        int scaled = Math.Min(window >> _rcvShift, ushort.MaxValue);
        var repr = new TcpRepr(Local.Port, Remote.Port, seq, _rcvNxt, flags, (ushort)scaled, length)
        {
            Timestamp = _tsEnabled ? new TcpTimestamp(TimestampNow(now), _tsRecent) : null,
            SackBlocks = _sackEnabled ? SackBlocksToSend() : default,
        };
        if (length > 0 && _tx is not null)
        {
            // The payload goes straight from the send ring into place after the header.
            _tx.CopyTo(seq - _sndUna, sink.SegmentBuffer.Slice(repr.HeaderLength, length));
            if (IsBbr)
            {
                OnBbrDataSent(seq, length, now);
            }
        }
        Emit(sink, repr, length, now);
        if ((flags & TcpFlags.Ack) != 0)
        {
            _lastAckSent = _rcvNxt;
            _advertisedRight = SeqNum.Max(_advertisedRight, _rcvNxt + (scaled << _rcvShift));
            _ackNow = false;
            _ackAt = Instant.Never;
            _unackedSegments = 0;
        }
    }

    private void Emit(ITcpSegmentSink sink, in TcpRepr repr, int length, Instant now)
    {
        var buffer = sink.SegmentBuffer;
        repr.Emit(buffer, buffer.Slice(repr.HeaderLength, length), Local.Address, Remote.Address, sink.PartialChecksum);
        _layer.Stats.SegmentsSent++;
        // Each cut segment repeats this header; options beyond the timestamp (SACK blocks) take room from the data.
        int segmentSize = _smss - Math.Max(0, repr.OptionsLength - (_tsEnabled ? 12 : 0));
        sink.Send(Remote.Address, repr.BufferLength, length > segmentSize ? segmentSize : 0, now);
    }

    /// <summary>
    /// RFC 2018 §4: the out-of-order ranges we hold, as many as fit beside the timestamp (three, or four without). The
    /// first is the range that got data last, the next the one before it (the most recently reported, as §4 asks);
    /// a last slot goes round the older ranges in turn, so each range held is reported again even when there are
    /// more than fit and the ACKs that first carried them were lost.
    /// </summary>
    private TcpSackBlocks SackBlocksToSend()
    {
        var blocks = default(TcpSackBlocks);
        if (_rx is null || _rx.RangeCount == 0)
        {
            return blocks;
        }
        int max = _tsEnabled ? 3 : 4;
        int count = _rx.RangeCount;
        int newest = -1;
        int second = -1;
        for (int i = 0; i < count; i++)
        {
            long recency = _rx.RangeRecency(i);
            if (newest < 0 || recency > _rx.RangeRecency(newest))
            {
                second = newest;
                newest = i;
            }
            else if (second < 0 || recency > _rx.RangeRecency(second))
            {
                second = i;
            }
        }
        blocks = AddRange(blocks, newest);
        if (second >= 0)
        {
            blocks = AddRange(blocks, second);
        }
        // The rest from the rotating cursor, skipping the two already in.
        for (int n = 0; n < count && blocks.Count < max; n++)
        {
            int i = _sackCursor % count;
            _sackCursor = i + 1;
            if (i != newest && i != second)
            {
                blocks = AddRange(blocks, i);
            }
        }
        return blocks;

        TcpSackBlocks AddRange(TcpSackBlocks to, int index)
        {
            var (start, end) = _rx.Range(index);
            return to.Add(_rcvNxt + start, _rcvNxt + end);
        }
    }
}
