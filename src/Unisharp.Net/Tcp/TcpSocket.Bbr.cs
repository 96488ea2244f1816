namespace Unisharp.Net.Tcp;

/// <summary>
/// The connection's side of BBR (<see cref="BbrModel"/>): delivery rate samples from what is sent and delivered
/// (<see cref="TcpDeliveryRate"/>), the window the model sets after each ACK, and pacing: new data leaves no faster
/// than the model's pacing rate, in bursts of about a millisecond's worth (at least two segments, at most 64 KiB, as
/// Linux's send quantum), the socket filed under the layer's deadline heap until the next burst is due.
/// </summary>
internal sealed partial class TcpSocket
{
    private const int PacingMaxBurst = 64 * 1024;
    /// <summary>Ethernet, IPv4 and TCP headers: what a segment costs on the wire beyond its payload.</summary>
    private const int PacingOverhead = 14 + 20 + 20;

    private BbrModel? _bbr;
    private TcpDeliveryRate? _deliveryRate;
    // Bytes acknowledged cumulatively since the connection began; with those SACKed now, C.delivered.
    private long _bytesAcked;
    // When the pacing schedule lets the next byte out; new data waits while this is more than a burst ahead of now.
    private Instant _paceAt;

    private bool IsBbr => _settings.CongestionControl == TcpCongestionControl.Bbr;

    /// <summary>The BBR model, when the connection uses BBR and has sent data (for tests and statistics).</summary>
    internal BbrModel? Bbr => _bbr;

    /// <summary>Bytes delivered to the peer as the delivery rate estimator counts them (0 without BBR).</summary>
    internal long Delivered => _deliveryRate?.Delivered ?? 0;

    /// <summary>How long a burst at the pacing rate lasts.</summary>
    private Duration PacingBurst
    {
        get
        {
            double rate = _bbr?.PacingRate ?? 0;
            if (rate <= 0)
            {
                return Duration.Zero;
            }
            double bytes = Math.Clamp(rate / 1000, 2.0 * (_smss + PacingOverhead), PacingMaxBurst);
            return Duration.FromMicroseconds((long)(bytes * 1e6 / rate));
        }
    }

    /// <summary>When pacing lets new data out again.</summary>
    private Instant PacingReleaseAt => _bbr is null ? Instant.Zero : _paceAt - PacingBurst;

    /// <summary>True when pacing holds new data back at <paramref name="now"/>.</summary>
    private bool PacingHolds(Instant now) => _bbr is not null && now < PacingReleaseAt;

    /// <summary>A data segment [<paramref name="seq"/>, +<paramref name="length"/>) goes out: recorded and charged to the pacing schedule.</summary>
    private void OnBbrDataSent(SeqNum seq, int length, Instant now)
    {
        if (_bbr is null)
        {
            var srtt = _hasRtt ? Duration.FromMicroseconds(_srtt) : (Duration?)null;
            _bbr = new BbrModel(_smss, _cwnd, srtt, (Local.Port ^ Remote.Port) % 8);
            _deliveryRate = new TcpDeliveryRate(2 * Math.Max(_settings.SendBufferSize, _cwnd) / _smss + 16);
        }
        int inFlight = _sndMax - _sndUna;
        if (inFlight == 0)
        {
            _bbr.OnIdleRestart(_deliveryRate!.IsAppLimited);
        }
        if (seq >= _sndMax)
        {
            _deliveryRate!.OnSend(seq, length, inFlight, now);
        }
        double rate = _bbr.PacingRate;
        if (rate > 0)
        {
            // A poll that came late (the host scheduled the I/O thread late) keeps the credit it missed, up to a window's
            // worth at the pacing rate: the window, not the timer's lateness, bounds the burst.
            var lag = Duration.FromMicroseconds((long)(Math.Max(_cwnd, 2 * _smss) * 1e6 / rate));
            var from = _paceAt > now - lag ? _paceAt : now - lag;
            _paceAt = from + Duration.FromMicroseconds((long)((length + PacingOverhead) * 1e6 / rate));
        }
    }

    /// <summary>After an ACK: a delivery rate sample, the model's update and the window it sets.</summary>
    private void OnBbrAck(int acked, Instant now)
    {
        _bytesAcked += Math.Max(acked, 0);
        if (_bbr is null || _deliveryRate is null)
        {
            return;
        }
        long delivered = _bytesAcked + _scoreboard.SackedBytes;
        int newly = (int)Math.Clamp(delivered - _deliveryRate.Delivered, 0, int.MaxValue);
        if (newly == 0)
        {
            return;
        }
        var highest = _scoreboard.HighSacked(_sndUna);
        DeliveryRateSample? sample = _deliveryRate.OnAck(_sndUna, highest, delivered, now, out var rs) ? rs : null;
        int flight = _sndMax - _sndUna;
        int inFlight = _inRecovery && _sackEnabled ? Pipe() : Math.Max(0, flight - _scoreboard.SackedBytes);
        _cwnd = _bbr.OnAck(sample, _deliveryRate.Delivered, newly, inFlight, _cwnd, now);
    }

    /// <summary>
    /// Nothing left to send and room in the window: the samples until what is in flight is delivered are app-limited
    /// (draft-cheng-iccrg-delivery-rate-estimation §3.4).
    /// </summary>
    private void CheckAppLimited(Instant now)
    {
        if (_deliveryRate is null || UnsentLength > 0 || PacingHolds(now))
        {
            return;
        }
        int inFlight = _sndMax - _sndUna;
        if (inFlight < _cwnd)
        {
            _deliveryRate.OnAppLimited(inFlight);
        }
    }
}
