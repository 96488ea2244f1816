using Unisharp.Net.Tcp;

namespace Unisharp.Net.Tests.Tcp;

public class CubicWindowTests
{
    /// <summary>Acknowledges one window per RTT for <paramref name="rtts"/> round trips; returns the window.</summary>
    private static double RunRtts(CubicWindow cubic, double cwnd, ref Instant now, double rttSeconds, int rtts)
    {
        var rtt = Duration.FromMicroseconds((long)(rttSeconds * 1e6));
        for (int i = 0; i < rtts; i++)
        {
            // One ACK per segment of the window, spread over the round trip.
            int acks = (int)cwnd;
            for (int a = 0; a < acks; a++)
            {
                cwnd += cubic.OnAck(cwnd, 1, now, rttSeconds);
            }
            now += rtt;
        }
        return cwnd;
    }

    [Fact]
    public void OnCongestion_FirstLoss_SsthreshIsSevenTenthsAndWMaxIsTheWindow()
    {
        var cubic = new CubicWindow();

        double ssthresh = cubic.OnCongestion(100);

        Assert.Equal(70, ssthresh, 6);
        Assert.Equal(100, cubic.WMax, 6);
    }

    [Fact]
    public void OnCongestion_BeforeReachingWMax_FastConvergenceLowersWMax()
    {
        var cubic = new CubicWindow();
        cubic.OnCongestion(100);

        cubic.OnCongestion(90);

        // RFC 9438 §4.7: W_max = cwnd (1 + beta) / 2.
        Assert.Equal(90 * 1.7 / 2, cubic.WMax, 6);
    }

    [Fact]
    public void OnAck_LongRtt_WindowFollowsTheCubicCurve()
    {
        // A 100 ms RTT: Reno's estimate grows 0.53 segments per RTT, far below the curve's pace, so the curve rules.
        var cubic = new CubicWindow();
        double cwnd = cubic.OnCongestion(1000);
        var start = Instant.FromMilliseconds(1000);
        var now = start;
        double k = Math.Cbrt((1000 - 700) / CubicWindow.C);

        // Sampled each second up to K + 3 s, the window stays within 3% of W_cubic(t) (one RTT ahead, as §4.2 aims).
        var samples = new List<double> { cwnd };
        for (int second = 1; second <= (int)k + 3; second++)
        {
            cwnd = RunRtts(cubic, cwnd, ref now, 0.1, 10);
            samples.Add(cwnd);
            double t = (now - start).TotalSeconds;
            double expected = CubicWindow.C * Math.Pow(t - k, 3) + 1000;
            Assert.InRange(cwnd, expected * 0.97, expected * 1.03);
        }

        Assert.Equal(k, cubic.K, 6);
        // Concave, a plateau at W_max, then convex: the second around K grows far less than the first second did.
        int atK = (int)Math.Round(k);
        double firstSecond = samples[1] - samples[0];
        double aroundK = samples[atK + 1] - samples[atK - 1];
        Assert.True(aroundK < firstSecond / 4, $"first second +{firstSecond}, two seconds around K +{aroundK}");
        Assert.True(samples[^1] - samples[^2] > aroundK / 2, "no convex growth past W_max");
    }

    [Fact]
    public void OnAck_ShortRtt_RenoFriendlyRegionGrowsLikeReno()
    {
        // A 1 ms RTT: after 100 RTTs the curve has barely moved (0.1 s of 4.2 s to K), Reno's estimate has grown
        // alpha segments per RTT; RFC 9438 §4.3 makes CUBIC take Reno's window.
        var cubic = new CubicWindow();
        double cwnd = cubic.OnCongestion(100);
        var now = Instant.FromMilliseconds(5000);

        double after = RunRtts(cubic, cwnd, ref now, 0.001, 100);

        double curve = cubic.Curve(0.1);
        double reno = 70 + CubicWindow.Alpha * 100;
        Assert.True(curve < 80, $"curve {curve}");
        Assert.InRange(after, reno * 0.95, reno * 1.05);
        Assert.InRange(cubic.WEst, reno * 0.95, reno * 1.05);
    }

    [Fact]
    public void OnAck_GrowthPerRtt_NeverOverHalfTheWindow()
    {
        // RFC 9438 §4.2: the target is at most 1.5 cwnd, even far past K.
        var cubic = new CubicWindow();
        double cwnd = cubic.OnCongestion(20);
        var now = Instant.FromMilliseconds(0);
        cwnd = RunRtts(cubic, cwnd, ref now, 0.1, 100);

        double next = RunRtts(cubic, cwnd, ref now, 0.1, 1);

        Assert.True(next <= cwnd * 1.5 + 1, $"{cwnd} -> {next}");
    }
}
