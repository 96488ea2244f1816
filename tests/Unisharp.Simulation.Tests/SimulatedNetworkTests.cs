using Unisharp.Net;
using static Unisharp.Simulation.Tests.TestFrames;

namespace Unisharp.Simulation.Tests;

public sealed class SimulatedNetworkTests
{
    [Fact]
    public void RunUntil_FrameSentOnPerfectLink_DeliveredAtSameInstant()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A);
        var b = net.AddDevice("b", B);
        var counter = new CountingNode(b);
        net.AddNode(counter);

        Assert.True(a.TrySend(Build(B, A, 42)));
        net.RunUntil(Instant.FromMilliseconds(10));

        Assert.Equal([(42, Instant.Zero, 64)], counter.Received);
        Assert.Equal(1, net.FramesDelivered);
        Assert.Equal(0, net.FramesDropped);
        Assert.Equal(Instant.FromMilliseconds(10), net.Now);
        Assert.Equal(1, a.FramesTransmitted);
        Assert.Equal(1, b.FramesReceived);
    }

    [Fact]
    public void RunUntil_LinkWithLatency_FrameArrivesAfterExactlyTheLatency()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A, new LinkConditions(Latency: Duration.FromMilliseconds(5)));
        var b = net.AddDevice("b", B);
        var counter = new CountingNode(b);
        net.AddNode(counter);

        net.RunUntil(Instant.FromMilliseconds(3));
        a.TrySend(Build(B, A, 1));
        net.RunUntil(Instant.FromMilliseconds(7));
        Assert.Empty(counter.Received);
        net.RunUntil(Instant.FromMilliseconds(8));

        Assert.Equal(Instant.FromMilliseconds(8), Assert.Single(counter.Received).At);
    }

    [Fact]
    public void RunUntil_EchoOverTwoLinks_RoundTripIsSumOfLatencies()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A, new LinkConditions(Latency: Duration.FromMilliseconds(3)));
        var b = net.AddDevice("b", B, new LinkConditions(Latency: Duration.FromMilliseconds(4)));
        var counter = new CountingNode(a);
        var echo = new EchoNode(b);
        net.AddNode(counter);
        net.AddNode(echo);

        a.TrySend(Build(B, A, 9));
        bool done = net.RunUntil(() => counter.Count == 1, Duration.FromSeconds(1));

        Assert.True(done);
        Assert.Equal(1, echo.Echoed);
        Assert.Equal((9, Instant.FromMilliseconds(7), 64), counter.Received[0]);
        // RunUntil stops at the step the condition became true, not at the timeout.
        Assert.Equal(Instant.FromMilliseconds(7), net.Now);
    }

    [Fact]
    public void RunUntil_ConditionNeverTrue_ReturnsFalseAtTimeout()
    {
        var net = new SimulatedNetwork(1);
        net.RunUntil(Instant.FromMilliseconds(2));

        bool result = net.RunUntil(() => false, Duration.FromMilliseconds(50));

        Assert.False(result);
        Assert.Equal(Instant.FromMilliseconds(52), net.Now);
    }

    [Fact]
    public void RunUntil_ConditionAlreadyTrue_ReturnsTrueWithoutRunning()
    {
        var net = new SimulatedNetwork(1);
        var polled = new ProbeNode();
        net.AddNode(polled);

        Assert.True(net.RunUntil(() => true, Duration.FromSeconds(1)));
        Assert.Empty(polled.Polls);
        Assert.Equal(Instant.Zero, net.Now);
    }

    [Fact]
    public void RunUntil_NodeDeadlines_TimeJumpsToEachDeadline()
    {
        var net = new SimulatedNetwork(1);
        var node = new ProbeNode(Instant.FromMilliseconds(7), Instant.FromMilliseconds(19), Instant.FromMilliseconds(500));
        net.AddNode(node);

        net.RunUntil(Instant.FromMilliseconds(100));

        Assert.Equal([Instant.Zero, Instant.FromMilliseconds(7), Instant.FromMilliseconds(19)], node.Polls);
        Assert.Equal(Instant.FromMilliseconds(100), net.Now);
    }

    [Fact]
    public void RunUntil_NodeAlwaysDueNow_ThrowsInsteadOfHanging()
    {
        var net = new SimulatedNetwork(1);
        net.AddNode(new StuckNode());

        var error = Assert.Throws<InvalidOperationException>(() => net.RunUntil(Instant.FromMilliseconds(1)));
        Assert.Contains("no progress", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunUntil_EchoNodesPingPongAtZeroLatency_ThrowsInsteadOfHanging()
    {
        var net = new SimulatedNetwork(1) { MaxStepsPerInstant = 10_000 };
        var a = net.AddDevice("a", A);
        var b = net.AddDevice("b", B);
        net.AddNode(new EchoNode(a));
        net.AddNode(new EchoNode(b));
        a.TrySend(Build(B, A, 1));

        var error = Assert.Throws<InvalidOperationException>(() => net.RunUntil(Instant.FromMilliseconds(1)));
        Assert.Contains("without time passing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunUntil_NeverWithIdleNetwork_StopsAtLastEvent()
    {
        var net = new SimulatedNetwork(1);
        var node = new ProbeNode(Instant.FromMilliseconds(30));
        net.AddNode(node);

        net.RunUntil(Instant.Never);

        Assert.Equal(Instant.FromMilliseconds(30), net.Now);
    }

    [Fact]
    public void RunUntil_BroadcastFrame_FloodedToEveryOtherPort()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A);
        var b = net.AddDevice("b", B);
        var c = net.AddDevice("c", C);
        var (ca, cb, cc) = (new CountingNode(a), new CountingNode(b), new CountingNode(c));
        net.AddNode(ca);
        net.AddNode(cb);
        net.AddNode(cc);

        a.TrySend(Build(MacAddress.Broadcast, A, 1));
        net.RunUntil(Instant.FromMilliseconds(1));

        Assert.Equal(0, ca.Count);
        Assert.Equal(1, cb.Count);
        Assert.Equal(1, cc.Count);
        Assert.Equal(2, net.FramesDelivered);
    }

    [Fact]
    public void RunUntil_UnicastToUnknownAddress_Flooded()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A);
        var b = net.AddDevice("b", B);
        var c = net.AddDevice("c", C);
        var (cb, cc) = (new CountingNode(b), new CountingNode(c));
        net.AddNode(cb);
        net.AddNode(cc);

        // B has sent nothing yet, so the switch does not know its port.
        a.TrySend(Build(B, A, 1));
        net.RunUntil(Instant.FromMilliseconds(1));

        Assert.Equal(1, cb.Count);
        Assert.Equal(1, cc.Count);
    }

    [Fact]
    public void RunUntil_UnicastToLearnedAddress_DeliveredOnlyToItsPort()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A);
        var b = net.AddDevice("b", B);
        var c = net.AddDevice("c", C);
        var (ca, cb, cc) = (new CountingNode(a), new CountingNode(b), new CountingNode(c));
        net.AddNode(ca);
        net.AddNode(cb);
        net.AddNode(cc);

        // The switch learns B's port from B's broadcast, and A's port from A's reply.
        b.TrySend(Build(MacAddress.Broadcast, B, 1));
        net.RunUntil(Instant.FromMilliseconds(1));
        a.TrySend(Build(B, A, 2));
        net.RunUntil(Instant.FromMilliseconds(2));
        b.TrySend(Build(A, B, 3));
        net.RunUntil(Instant.FromMilliseconds(3));

        Assert.Equal([1, 3], ca.Received.Select(r => r.Sequence));
        Assert.Equal([2], cb.Received.Select(r => r.Sequence));
        Assert.Equal([1], cc.Received.Select(r => r.Sequence));
    }

    [Fact]
    public void RunUntil_BandwidthLimit_FramesSerializeOneAfterAnother()
    {
        var net = new SimulatedNetwork(1);
        // 1000-byte frames at 8 Mbit/s take 1 ms each on the wire.
        var a = net.AddDevice("a", A, new LinkConditions(BitsPerSecond: 8_000_000, Latency: Duration.FromMilliseconds(2)));
        var b = net.AddDevice("b", B);
        var counter = new CountingNode(b);
        net.AddNode(counter);

        for (int i = 0; i < 3; i++)
        {
            Assert.True(a.TrySend(Build(B, A, i, 1000)));
        }
        net.RunUntil(Instant.FromMilliseconds(10));

        Assert.Equal([Instant.FromMilliseconds(3), Instant.FromMilliseconds(4), Instant.FromMilliseconds(5)], counter.Received.Select(r => r.At));
    }

    [Fact]
    public void TryTransmit_BandwidthLimitedQueueFull_ReturnsFalseUntilWireDrains()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A, new LinkConditions(BitsPerSecond: 8_000_000));
        net.AddDevice("b", B);
        var frame = Build(B, A, 0, 1000);

        for (int i = 0; i < SimulatedDevice.TransmitQueueCapacity; i++)
        {
            Assert.True(a.TrySend(frame));
        }
        Assert.False(a.TrySend(frame));
        net.RunUntil(Instant.FromMilliseconds(1));
        Assert.True(a.TrySend(frame));
    }

    [Fact]
    public void TryTransmit_LongerThanMaxFrame_Throws()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A, mtu: 1000);

        Assert.Throws<ArgumentOutOfRangeException>(() => a.TrySend(new byte[1019]));
        Assert.True(a.TrySend(Build(B, A, 0, 1018)));
    }

    [Fact]
    public void RunUntil_FrameLongerThanReceiverMtu_Dropped()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A, mtu: 9000);
        var b = net.AddDevice("b", B);
        var counter = new CountingNode(b);
        net.AddNode(counter);

        a.TrySend(Build(B, A, 0, 4000));
        net.RunUntil(Instant.FromMilliseconds(1));

        Assert.Equal(0, counter.Count);
        Assert.Equal(1, net.FramesDropped);
    }

    [Fact]
    public void RunUntil_RuntFrame_Dropped()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A);
        net.AddDevice("b", B);

        a.TrySend(new byte[10]);
        net.RunUntil(Instant.FromMilliseconds(1));

        Assert.Equal(0, net.FramesDelivered);
        Assert.Equal(1, net.FramesDropped);
    }

    [Fact]
    public void RunUntil_DisposedReceiver_FramesDropped()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A);
        var b = net.AddDevice("b", B);
        b.TrySend(Build(A, B, 0));
        b.Dispose();

        a.TrySend(Build(B, A, 1));
        net.RunUntil(Instant.FromMilliseconds(1));

        Assert.Equal(1, net.FramesDelivered);
        Assert.Equal(1, net.FramesDropped);
        Assert.False(b.WaitForFrame(TimeSpan.Zero));
    }

    [Fact]
    public void WaitForFrame_FramePending_ReturnsTrueAtOnce()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A);
        var b = net.AddDevice("b", B);

        Assert.False(b.WaitForFrame(TimeSpan.FromHours(1)));
        a.TrySend(Build(B, A, 1));
        net.RunUntil(Instant.FromMilliseconds(1));

        Assert.True(b.WaitForFrame(TimeSpan.FromHours(1)));
        Assert.Equal(1, b.PendingFrames);
    }

    [Fact]
    public void SleepAsync_VirtualTimePassesDeadline_Completes()
    {
        var net = new SimulatedNetwork(1);
        var sleep = net.Clock.SleepAsync(Duration.FromMilliseconds(25));

        net.RunUntil(Instant.FromMilliseconds(24));
        Assert.False(sleep.IsCompleted);
        net.RunUntil(Instant.FromMilliseconds(25));

        Assert.True(sleep.IsCompletedSuccessfully);
    }

    [Fact]
    public void RunUntil_Sleeper_TimeJumpsToItsDeadline()
    {
        var net = new SimulatedNetwork(1);
        Instant wokeAt = Instant.Never;
        _ = Wake();

        bool woke = net.RunUntil(() => wokeAt != Instant.Never, Duration.FromSeconds(10));

        Assert.True(woke);
        Assert.Equal(Instant.FromMilliseconds(1500), wokeAt);
        Assert.Equal(Instant.FromMilliseconds(1500), net.Now);

        async Task Wake()
        {
            await net.Clock.SleepAsync(Duration.FromMilliseconds(1500)).ConfigureAwait(false);
            wokeAt = net.Now;
        }
    }

    [Fact]
    public void SleepAsync_Cancelled_CompletesAsCanceled()
    {
        var net = new SimulatedNetwork(1);
        using var cts = new CancellationTokenSource();
        var sleep = net.Clock.SleepAsync(Duration.FromSeconds(1), cts.Token);

        cts.Cancel();
        net.RunUntil(Instant.Zero + Duration.FromSeconds(2));

        Assert.True(sleep.IsCanceled);
    }

    [Fact]
    public void WallNow_VirtualTime_IsEpochPlusNow()
    {
        var net = new SimulatedNetwork(1);
        net.RunUntil(Instant.FromMilliseconds(1234));

        Assert.Equal(SimulatedClock.Epoch.AddMilliseconds(1234), net.Clock.WallNow);
    }

    [Fact]
    public void AddDevice_ProbabilityOutOfRange_Throws()
    {
        var net = new SimulatedNetwork(1);

        Assert.Throws<ArgumentOutOfRangeException>(() => net.AddDevice("a", A, new LinkConditions(Loss: 1.5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => net.AddDevice("a", A, new LinkConditions(Reorder: double.NaN)));
        Assert.Throws<ArgumentOutOfRangeException>(() => net.AddDevice("a", A, new LinkConditions(Latency: Duration.FromMilliseconds(-1))));
    }

    [Fact]
    public void CreateEntropy_SameSeed_SameStreamsAndDistinctFromEachOther()
    {
        var first = new SimulatedNetwork(5);
        var second = new SimulatedNetwork(5);

        ulong a1 = first.CreateEntropy().NextUInt64();
        ulong a2 = first.CreateEntropy().NextUInt64();

        Assert.Equal(a1, second.CreateEntropy().NextUInt64());
        Assert.Equal(a2, second.CreateEntropy().NextUInt64());
        Assert.NotEqual(a1, a2);
    }

    /// <summary>Records the instants it is polled at and asks for the given deadlines in turn.</summary>
    private sealed class ProbeNode(params Instant[] deadlines) : ISimulatedNode
    {
        public List<Instant> Polls { get; } = [];

        public void Poll(Instant now) => Polls.Add(now);

        public Instant PollAt(Instant now)
        {
            foreach (var deadline in deadlines)
            {
                if (deadline > now)
                {
                    return deadline;
                }
            }
            return Instant.Never;
        }
    }

    private sealed class StuckNode : ISimulatedNode
    {
        public void Poll(Instant now)
        {
        }

        public Instant PollAt(Instant now) => now;
    }
}
