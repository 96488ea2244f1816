using Unisharp.Net.Tests.Simulation;
using Unisharp.Simulation;
using Xunit.Abstractions;

namespace Unisharp.Net.Tests.Tcp;

/// <summary>
/// The sender under heavy loss in both directions (the unix target's fault injector: 5% drop, 2% reorder): losses
/// must be repaired by fast retransmit and SACK recovery, not by the retransmission timer.
/// </summary>
public class TcpLossRecoveryTests(ITestOutputHelper output)
{
    private static readonly LinkConditions s_lossy = new(Loss: 0.05, Reorder: 0.02, Latency: Duration.FromMilliseconds(1), BitsPerSecond: 1_000_000_000);

    private (long Timeouts, long Recoveries, long Retransmissions, double MegabytesPerSecond) Send(TcpNet net, int length)
    {
        long timeouts = 0, recoveries = 0, retransmissions = 0;
        double rate = 0;
        PcapOnFailure.Run(net.Network, () =>
        {
            byte[] data = TcpNet.RandomBytes(length, length);
            var listener = net.B.Tcp.Listen(80);
            var (client, server) = net.Connect(listener);
            var start = net.Network.Now;

            var receiving = TcpNet.ReadToEnd(server, length);
            var sending = TcpNet.WriteAllAndClose(client, data);
            byte[] received = net.Run(receiving, Duration.FromSeconds(600));

            Assert.True(sending.IsCompletedSuccessfully);
            Assert.True(data.AsSpan().SequenceEqual(received), "the bytes differ");
            var stats = net.A.TcpLayer.Stats;
            timeouts = stats.Timeouts;
            recoveries = stats.FastRecoveries;
            retransmissions = stats.Retransmissions;
            double seconds = (net.Network.Now - start).Microseconds / 1e6;
            rate = length / seconds / 1e6;
            output.WriteLine($"{length} bytes in {seconds:F2} s ({rate:F2} MB/s): {timeouts} timeouts, {recoveries} fast recoveries "
                + $"({stats.SackRecoveries} with SACK), {retransmissions} retransmissions, {stats.TailLossProbes} tail loss probes");
        });
        return (timeouts, recoveries, retransmissions, rate);
    }

    [Theory]
    [InlineData(7UL)]
    [InlineData(8UL)]
    [InlineData(9UL)]
    public void Send_FivePercentLossBothWays_FastRecoveryRepairsMostLosses(ulong seed)
    {
        var net = TcpNet.Create(seed, s_lossy);

        var (timeouts, recoveries, retransmissions, rate) = Send(net, 8 << 20);

        // Before the fix: 42-51 timeouts, 153-188 recoveries, 0.57-0.63 MB/s; after: 4-5 timeouts, 1.6-1.7 MB/s.
        Assert.True(recoveries > 0, "no fast recovery at all");
        Assert.True(timeouts * 10 < recoveries, $"{timeouts} timeouts against {recoveries} fast recoveries");
        Assert.True(timeouts * 10 < retransmissions, $"{timeouts} timeouts among {retransmissions} retransmissions");
        Assert.True(rate > 1.2, $"{rate:F2} MB/s over a 2 ms round trip");
    }

    [Theory]
    [InlineData(7UL, TcpCongestionControl.Cubic)]
    [InlineData(9UL, TcpCongestionControl.Reno)]
    public void Send_FivePercentLossBothWaysWithoutSack_NewRenoRepairsMostLosses(ulong seed, TcpCongestionControl congestionControl)
    {
        var settings = new Unisharp.Net.Tcp.TcpSettings { Sack = false, CongestionControl = congestionControl };
        var net = TcpNet.Create(seed, s_lossy, settings, settings);

        var (timeouts, recoveries, _, _) = Send(net, 2 << 20);

        // Before the fix: 10-11 timeouts against 43-46 recoveries; after: 3.
        Assert.True(timeouts * 5 < recoveries, $"{timeouts} timeouts against {recoveries} fast recoveries");
    }

    /// <summary>
    /// Data both ways under issue 14's faults (10% loss, 5% reordering, 5% duplication each way), as an echo makes it:
    /// every segment carries SACK blocks for the other direction, and each must still fit the MTU. Before the fix, a
    /// full-sized retransmission with SACK blocks went out as two IP fragments, which the receiver dropped, and both
    /// ends backed off for good with their windows full (all of seeds 60-65 stalled).
    /// </summary>
    [Theory]
    [InlineData(60UL)]
    [InlineData(61UL)]
    public void Echo_TenPercentLossBothWays_16MiBByteExactNoFragments(ulong seed)
    {
        var lossy = new LinkConditions(Loss: 0.1, Duplicate: 0.05, Reorder: 0.05, Latency: Duration.FromMilliseconds(1), BitsPerSecond: 1_000_000_000);
        var net = TcpNet.Create(seed, lossy);
        const int length = 16 << 20;
        int fragments = 0;
        PcapOnFailure.Run(net.Network, () =>
        {
            byte[] data = TcpNet.RandomBytes(length, 60);
            var listener = net.B.Tcp.Listen(80);
            var (client, server) = net.Connect(listener);
            net.Network.Observer = (_, _, frame) =>
            {
                // IPv4 with more fragments (MF) or a fragment offset.
                if (frame.Length > 21 && frame[12] == 0x08 && frame[13] == 0x00 && ((frame[20] & 0x3F) != 0 || frame[21] != 0))
                {
                    fragments++;
                }
            };
            _ = TcpRobustnessTests.Echo(server);
            var start = net.Network.Now;
            var reading = TcpNet.ReadToEnd(client, length);
            _ = TcpNet.WriteAllAndClose(client, data);
            byte[] received = net.Run(reading, Duration.FromSeconds(120));
            output.WriteLine($"{length} bytes echoed in {(net.Network.Now - start).Microseconds / 1e6:F1} s of virtual time; "
                + $"{net.A.TcpLayer.Stats.Timeouts + net.B.TcpLayer.Stats.Timeouts} timeouts");

            Assert.True(data.AsSpan().SequenceEqual(received), "the bytes differ");
            Assert.Equal(0, fragments);
        });
    }
}
