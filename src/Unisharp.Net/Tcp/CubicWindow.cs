namespace Unisharp.Net.Tcp;

/// <summary>
/// RFC 9438 CUBIC's window arithmetic, in segments and seconds: the cubic curve after a congestion event, fast
/// convergence and the Reno-friendly estimate. Pure: the connection feeds it its window, the bytes acknowledged and
/// the time, and applies the growth it returns.
/// </summary>
internal sealed class CubicWindow
{
    /// <summary>RFC 9438 §5: C = 0.4.</summary>
    public const double C = 0.4;
    /// <summary>RFC 9438 §4.6: beta_cubic = 0.7.</summary>
    public const double Beta = 0.7;
    /// <summary>RFC 9438 §4.3: alpha_cubic = 3 (1 - beta) / (1 + beta), Reno's average rate for this beta.</summary>
    public const double Alpha = 3 * (1 - Beta) / (1 + Beta);

    private bool _inEpoch;
    private Instant _epoch;

    /// <summary>W_max: the window (segments) at the last congestion event, lowered by fast convergence.</summary>
    public double WMax { get; private set; }

    /// <summary>K: seconds from the start of the epoch until the curve is back at <see cref="WMax"/>.</summary>
    public double K { get; private set; }

    /// <summary>W_est: the window Reno would have now (segments).</summary>
    public double WEst { get; private set; }

    /// <summary>W_cubic(t) (RFC 9438 eq. 1).</summary>
    public double Curve(double t) => C * Math.Pow(t - K, 3) + WMax;

    /// <summary>A congestion event at <paramref name="cwnd"/> segments; returns the new ssthresh in segments (§4.6, §4.7).</summary>
    public double OnCongestion(double cwnd)
    {
        // §4.7, fast convergence: a flow that did not get back to its previous W_max gives up more to newcomers.
        WMax = cwnd < WMax ? cwnd * (1 + Beta) / 2 : cwnd;
        _inEpoch = false;
        return cwnd * Beta;
    }

    /// <summary>Forgets the epoch (after a timeout, slow start runs again and a new epoch starts after it).</summary>
    public void Reset() => _inEpoch = false;

    /// <summary>
    /// Congestion avoidance for <paramref name="acked"/> newly acknowledged segments at <paramref name="now"/>, with the
    /// window at <paramref name="cwnd"/> segments and a smoothed RTT of <paramref name="rtt"/> seconds; returns the
    /// growth of the window in segments (§4.2-4.4).
    /// </summary>
    public double OnAck(double cwnd, double acked, Instant now, double rtt)
    {
        if (!_inEpoch)
        {
            _inEpoch = true;
            _epoch = now;
            if (cwnd < WMax)
            {
                K = Math.Cbrt((WMax - cwnd) / C);
            }
            else
            {
                K = 0;
                WMax = cwnd;
            }
            WEst = cwnd;
        }
        double t = (now - _epoch).TotalSeconds;
        // §4.2: aim at where the curve will be one RTT from now, no lower than cwnd and at most 1.5 cwnd.
        double target = Math.Clamp(Curve(t + rtt), cwnd, 1.5 * cwnd);
        // §4.3: the Reno-friendly region: never grow slower than Reno would.
        WEst += Alpha * acked / cwnd;
        if (WEst > Curve(t))
        {
            target = Math.Max(target, WEst);
        }
        return (target - cwnd) / cwnd * acked;
    }
}
