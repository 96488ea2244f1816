using static Unisharp.Simulation.Tests.TestFrames;

namespace Unisharp.Simulation.Tests;

public sealed class LinkFaultTests
{
    private const int FrameCount = 10_000;

    [Fact]
    public void RunUntil_TenPercentLoss_RoughlyTenPercentLost()
    {
        var (net, _, counter) = Run(seed: 7, new LinkConditions(Loss: 0.1));

        // Binomial(10000, 0.1): the standard deviation is 30, so ±300 is ten of them.
        Assert.InRange(counter.Count, 8_700, 9_300);
        Assert.Equal(FrameCount - counter.Count, net.FramesDropped);
        Assert.Equal(counter.Count, net.FramesDelivered);
    }

    [Fact]
    public void RunUntil_SameSeed_ExactlyTheSameFramesLost()
    {
        var conditions = new LinkConditions(Loss: 0.2, Duplicate: 0.05, Reorder: 0.05, Latency: Duration.FromMilliseconds(1), Jitter: Duration.FromMicroseconds(300));
        var (_, _, first) = Run(seed: 11, conditions);
        var (_, _, second) = Run(seed: 11, conditions);
        var (_, _, other) = Run(seed: 12, conditions);

        Assert.Equal(first.Received, second.Received);
        Assert.NotEqual(first.Received.Select(r => r.Sequence), other.Received.Select(r => r.Sequence));
    }

    [Fact]
    public void RunUntil_NoLoss_EveryFrameArrivesInOrder()
    {
        var (net, _, counter) = Run(seed: 1, new LinkConditions(Latency: Duration.FromMilliseconds(2)));

        Assert.Equal(Enumerable.Range(0, FrameCount), counter.Received.Select(r => r.Sequence));
        Assert.Equal(0, net.FramesDropped);
    }

    [Fact]
    public void RunUntil_AlwaysDuplicate_EveryFrameArrivesTwice()
    {
        var (_, _, counter) = Run(seed: 3, new LinkConditions(Duplicate: 1), count: 100);

        Assert.Equal(Enumerable.Range(0, 100).SelectMany(i => new[] { i, i }), counter.Received.Select(r => r.Sequence));
    }

    [Fact]
    public void RunUntil_Jitter_DelaysWithinBoundAndKeepsOrder()
    {
        var latency = Duration.FromMilliseconds(1);
        var jitter = Duration.FromMilliseconds(5);
        var (_, _, counter) = Run(seed: 5, new LinkConditions(Latency: latency, Jitter: jitter), count: 1000);

        Assert.Equal(Enumerable.Range(0, 1000), counter.Received.Select(r => r.Sequence));
        var delays = counter.Received.Select(r => r.At - SentAt(r.Sequence)).ToList();
        Assert.All(delays, d => Assert.InRange(d.Microseconds, latency.Microseconds, (latency + jitter).Microseconds));
        // The jitter is really drawn: delays vary by milliseconds.
        var spread = delays.Max() - delays.Min();
        Assert.True(spread > Duration.FromMilliseconds(3), $"delays vary by {spread.Microseconds} us only");
    }

    [Fact]
    public void RunUntil_Reorder_SomeFramesOvertakenNoneLost()
    {
        var (_, _, counter) = Run(seed: 9, new LinkConditions(Reorder: 0.1, Latency: Duration.FromMilliseconds(1)), count: 1000);

        var sequences = counter.Received.Select(r => r.Sequence).ToList();
        Assert.Equal(Enumerable.Range(0, 1000), sequences.Order());
        int inversions = sequences.Zip(sequences.Skip(1)).Count(p => p.First > p.Second);
        Assert.InRange(inversions, 50, 150);
    }

    [Fact]
    public void RunUntil_LinkCutMidRun_LaterFramesLost()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A);
        var counter = new CountingNode(net.AddDevice("b", B));
        net.AddNode(new ScheduledSender(a, B, 100, Duration.FromMilliseconds(1)));
        net.AddNode(counter);

        net.RunUntil(new Instant(49_500));
        a.Conditions = a.Conditions with { Loss = 1 };
        net.RunUntil(Instant.FromMilliseconds(200));

        Assert.Equal(Enumerable.Range(0, 50), counter.Received.Select(r => r.Sequence));
        Assert.Equal(50, net.FramesDropped);
    }

    // Frames go out every 100 µs, faster than the latency, so the link holds many at once.
    private static Instant SentAt(int sequence) => Instant.Zero + Duration.FromMicroseconds(100) * sequence;

    private static (SimulatedNetwork Net, ScheduledSender Sender, CountingNode Counter) Run(ulong seed, LinkConditions conditions, int count = FrameCount)
    {
        var net = new SimulatedNetwork(seed);
        var a = net.AddDevice("a", A, conditions);
        var b = net.AddDevice("b", B);
        var sender = new ScheduledSender(a, B, count, Duration.FromMicroseconds(100));
        var counter = new CountingNode(b);
        net.AddNode(sender);
        net.AddNode(counter);
        net.RunUntil(SentAt(count) + Duration.FromSeconds(1));
        Assert.Equal(count, sender.Sent);
        return (net, sender, counter);
    }
}
