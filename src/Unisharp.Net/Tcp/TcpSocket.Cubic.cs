namespace Unisharp.Net.Tcp;

internal sealed partial class TcpSocket
{
    private CubicWindow? _cubic;
    private double _cubicRemainder;

    private bool IsCubic => _settings.CongestionControl == TcpCongestionControl.Cubic;

    /// <summary>The slow start threshold after a congestion event (RFC 5681 §3.1 eq. 4, or RFC 9438 §4.6).</summary>
    private int SsthreshAfterLoss(int flight)
    {
        if (IsBbr)
        {
            // BBR does not take loss as congestion: the window stays where its model put it.
            return Math.Max(_cwnd, 2 * _smss);
        }
        if (!IsCubic)
        {
            return Math.Max(flight / 2, 2 * _smss);
        }
        _cubic ??= new CubicWindow();
        double ssthresh = _cubic.OnCongestion((double)_cwnd / _smss);
        return Math.Max((int)(ssthresh * _smss), 2 * _smss);
    }

    /// <summary>RFC 9438 §4.2-4.4: congestion avoidance growth for <paramref name="acked"/> new bytes.</summary>
    private void CubicCongestionAvoidance(int acked, Instant now)
    {
        _cubic ??= new CubicWindow();
        double rtt = _hasRtt ? _srtt / 1e6 : 0.1;
        _cubicRemainder += _cubic.OnAck((double)_cwnd / _smss, (double)acked / _smss, now, rtt) * _smss;
        int grow = (int)_cubicRemainder;
        _cubicRemainder -= grow;
        _cwnd += grow;
    }
}
