using Unisharp.Net.Tests.Simulation;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Tcp;

public class TcpTransferTests
{
    private static readonly LinkConditions s_lan = new(Latency: Duration.FromMilliseconds(5), BitsPerSecond: 100_000_000);

    private static void Transfer(TcpNet net, int length, Duration limit)
    {
        PcapOnFailure.Run(net.Network, () =>
        {
            byte[] data = TcpNet.RandomBytes(length, length);
            var listener = net.B.Tcp.Listen(80);
            var (client, server) = net.Connect(listener);

            var receiving = TcpNet.ReadToEnd(server, length);
            var sending = TcpNet.WriteAllAndClose(client, data);
            byte[] received = net.Run(receiving, limit);

            Assert.True(sending.IsCompletedSuccessfully);
            Assert.Equal(data.Length, received.Length);
            Assert.True(data.AsSpan().SequenceEqual(received), "the bytes differ");
        });
    }

    [Fact]
    public void Transfer_Lossless16MiB_ByteExactWithoutRetransmission()
    {
        var net = TcpNet.Create(1, s_lan);

        Transfer(net, 16 << 20, Duration.FromSeconds(60));

        Assert.Equal(0, net.A.TcpLayer.Stats.Retransmissions);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Transfer_OnePercentLoss_ByteExact(ulong seed)
    {
        var net = TcpNet.Create(seed, s_lan with { Loss = 0.01 });

        Transfer(net, 4 << 20, Duration.FromSeconds(300));

        Assert.True(net.A.TcpLayer.Stats.Retransmissions > 0, "1% loss and nothing was resent: the loss is not applied");
    }

    [Theory]
    [InlineData(4UL)]
    [InlineData(5UL)]
    public void Transfer_TenPercentLoss_ByteExact(ulong seed)
    {
        var net = TcpNet.Create(seed, s_lan with { Loss = 0.10 });

        Transfer(net, 1 << 20, Duration.FromSeconds(900));
    }

    [Fact]
    public void Transfer_ReorderedAndDuplicated_ByteExact()
    {
        var net = TcpNet.Create(6, s_lan with { Reorder = 0.05, Duplicate = 0.05, Jitter = Duration.FromMilliseconds(2) });

        Transfer(net, 4 << 20, Duration.FromSeconds(300));
    }

    [Fact]
    public void Transfer_LossReorderAndDuplication_ByteExact()
    {
        var net = TcpNet.Create(7, s_lan with { Loss = 0.02, Reorder = 0.05, Duplicate = 0.02 });

        Transfer(net, 2 << 20, Duration.FromSeconds(600));
    }

    [Fact]
    public void Transfer_OnePercentLoss_FastRetransmitRecoversMostLosses()
    {
        var net = TcpNet.Create(8, s_lan with { Loss = 0.01 });

        Transfer(net, 4 << 20, Duration.FromSeconds(300));

        var stats = net.A.TcpLayer.Stats;
        Assert.True(stats.Retransmissions > stats.Timeouts, $"{stats.Retransmissions} retransmissions, {stats.Timeouts} timeouts");
    }

    [Fact]
    public void Transfer_OnePercentLossWithSack_SackRecoveryUsed()
    {
        var net = TcpNet.Create(9, s_lan with { Loss = 0.01 });

        Transfer(net, 4 << 20, Duration.FromSeconds(300));

        Assert.True(net.A.TcpLayer.Stats.SackRecoveries > 0);
    }

    [Fact]
    public void Transfer_OnePercentLossNewRenoOnly_ByteExact()
    {
        var noSack = new Unisharp.Net.Tcp.TcpSettings { Sack = false };
        var net = TcpNet.Create(9, s_lan with { Loss = 0.01 }, noSack, noSack);

        Transfer(net, 4 << 20, Duration.FromSeconds(300));

        Assert.Equal(0, net.A.TcpLayer.Stats.SackRecoveries);
        Assert.True(net.A.TcpLayer.Stats.FastRecoveries > 0);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    [InlineData(0.05)]
    public void Transfer_Cubic_ByteExact(double loss)
    {
        var cubic = new Unisharp.Net.Tcp.TcpSettings { CongestionControl = TcpCongestionControl.Cubic };
        var net = TcpNet.Create(12, s_lan with { Loss = loss }, cubic, cubic);

        Transfer(net, 4 << 20, Duration.FromSeconds(300));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    [InlineData(0.05)]
    public void Transfer_Bbr_ByteExact(double loss)
    {
        var bbr = new Unisharp.Net.Tcp.TcpSettings { CongestionControl = TcpCongestionControl.Bbr };
        var net = TcpNet.Create(15, s_lan with { Loss = loss }, bbr, bbr);

        Transfer(net, 4 << 20, Duration.FromSeconds(300));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    public void Transfer_Reno_ByteExact(double loss)
    {
        var reno = new Unisharp.Net.Tcp.TcpSettings { CongestionControl = TcpCongestionControl.Reno };
        var net = TcpNet.Create(14, s_lan with { Loss = loss }, reno, reno);

        Transfer(net, 4 << 20, Duration.FromSeconds(300));
    }

    [Fact]
    public void Settings_Default_IsBbr()
    {
        Assert.Equal(TcpCongestionControl.Bbr, new Unisharp.Net.Tcp.TcpSettings().CongestionControl);
        Assert.Equal(TcpCongestionControl.Bbr, new TcpOptions().CongestionControl);
    }

    [Fact]
    public void Cubic_AfterLoss_SsthreshIsSevenTenthsOfWindow()
    {
        var cubic = new Unisharp.Net.Tcp.TcpSettings { CongestionControl = TcpCongestionControl.Cubic };
        var net = TcpNet.Create(13, s_lan, cubic, cubic);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        var socket = TcpNet.SocketOf(client);
        var sending = TcpNet.WriteAllAndClose(client, new byte[8 << 20]);
        var receiving = TcpNet.ReadToEnd(server, 8 << 20);
        // A few segments lost once the window is large: SACK recovery, then ssthresh = 0.7 cwnd (RFC 9438 §4.6), not Reno's half.
        int atLoss = 0;
        var cutUntil = Instant.Never;
        net.Network.RunUntil(() =>
        {
            if (net.A.TcpLayer.Stats.FastRecoveries > 0)
            {
                return true;
            }
            atLoss = socket.CongestionWindow;
            if (cutUntil == Instant.Never && atLoss > 200_000)
            {
                cutUntil = net.Network.Now + Duration.FromMilliseconds(1);
                net.DeviceA.Conditions = net.DeviceA.Conditions with { Loss = 1 };
            }
            else if (net.Network.Now >= cutUntil)
            {
                net.DeviceA.Conditions = net.DeviceA.Conditions with { Loss = 0 };
            }
            return false;
        }, Duration.FromSeconds(10));

        Assert.Equal(1, net.A.TcpLayer.Stats.FastRecoveries);
        Assert.InRange(socket.SlowStartThreshold, (int)(atLoss * 0.65), (int)(atLoss * 0.75));
        Assert.Equal(8 << 20, net.Run(receiving, Duration.FromSeconds(60)).Length);
    }
}
