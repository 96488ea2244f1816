namespace Unisharp.Net.Tcp;

internal sealed partial class TcpSocket
{
    // RFC 9438 §4.6 and §5: C = 0.4, beta_cubic = 0.7, alpha_cubic = 3 (1 - beta) / (1 + beta).
    private const double CubicC = 0.4;
    private const double CubicBeta = 0.7;
    private const double CubicAlpha = 3 * (1 - CubicBeta) / (1 + CubicBeta);

    private double _cubicWMax;
    private double _cubicK;
    private double _cubicWEst;
    private double _cubicRemainder;
    private Instant _cubicEpoch = Instant.Never;

    private bool IsCubic => _settings.CongestionControl == TcpCongestionControl.Cubic;

    /// <summary>The slow start threshold after a congestion event (RFC 5681 §3.1 eq. 4, or RFC 9438 §4.6).</summary>
    private int SsthreshAfterLoss(int flight)
    {
        if (!IsCubic)
        {
            return Math.Max(flight / 2, 2 * _smss);
        }
        double cwnd = (double)_cwnd / _smss;
        // RFC 9438 §4.7, fast convergence: give up bandwidth faster when the previous W_max was not reached.
        _cubicWMax = cwnd < _cubicWMax ? cwnd * (1 + CubicBeta) / 2 : cwnd;
        _cubicEpoch = Instant.Never;
        return Math.Max((int)(_cwnd * CubicBeta), 2 * _smss);
    }

    /// <summary>RFC 9438 §4.2-4.4: congestion avoidance growth for <paramref name="acked"/> new bytes.</summary>
    private void CubicCongestionAvoidance(int acked, Instant now)
    {
        double cwnd = (double)_cwnd / _smss;
        if (_cubicEpoch == Instant.Never)
        {
            _cubicEpoch = now;
            if (cwnd < _cubicWMax)
            {
                _cubicK = Math.Cbrt((_cubicWMax - cwnd) / CubicC);
            }
            else
            {
                _cubicK = 0;
                _cubicWMax = cwnd;
            }
            _cubicWEst = cwnd;
        }
        double rtt = _hasRtt ? _srtt / 1e6 : 0.1;
        double t = (now - _cubicEpoch).TotalSeconds + rtt;
        double target = CubicC * Math.Pow(t - _cubicK, 3) + _cubicWMax;
        // §4.2: the target is bounded to [cwnd, 1.5 cwnd].
        target = Math.Clamp(target, cwnd, 1.5 * cwnd);
        // §4.3: the Reno-friendly region.
        _cubicWEst += CubicAlpha * acked / _cwnd;
        if (_cubicWEst > target)
        {
            target = _cubicWEst;
        }
        _cubicRemainder += (target - cwnd) / cwnd * acked;
        int grow = (int)_cubicRemainder;
        _cubicRemainder -= grow;
        _cwnd += grow;
    }
}
