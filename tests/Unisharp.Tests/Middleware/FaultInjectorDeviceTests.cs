using Unisharp.Devices;
using Unisharp.Devices.Middleware;
using Unisharp.Testing;

namespace Unisharp.Tests.Middleware;

public sealed class FaultInjectorDeviceTests
{
    private readonly ManualClock _clock = new();
    private readonly QueueDevice _inner = new();

    [Fact]
    public void TryReceive_NoFaults_FramesPassInOrderUnchanged()
    {
        using var device = Create(new FaultOptions());
        Inject(0, 5);

        Assert.Equal([0, 1, 2, 3, 4], ReceiveAll(device));
        Assert.Equal(0, device.HeldFrames);
        Assert.Equal(Instant.Never, device.NextRelease);
    }

    [Fact]
    public void TryReceive_DropAll_ReturnsFalseAndCountsEveryDrop()
    {
        using var device = Create(new FaultOptions(Drop: 1));
        Inject(0, 5);

        Assert.False(device.TryReceive(ref DiscardHandler.Instance));
        Assert.Equal(5, device.Dropped);
        Assert.Empty(_inner.Incoming);
    }

    [Fact]
    public void TryReceive_DropThirtyPercent_RoughlyThirtyPercentLost()
    {
        using var device = Create(new FaultOptions(Drop: 0.3, Seed: 42));
        Inject(0, 10_000);

        var received = ReceiveAll(device);

        // Binomial(10000, 0.3): the standard deviation is 46, so ±300 is six and a half of them.
        Assert.InRange(received.Count, 6_700, 7_300);
        Assert.Equal(10_000 - received.Count, device.Dropped);
        Assert.Equal(received.Order(), received);
    }

    [Fact]
    public void TryReceive_SameSeed_SameFaultsAndOtherSeedDifferent()
    {
        var options = new FaultOptions(Drop: 0.1, Duplicate: 0.1, Reorder: 0.1, Delay: Duration.FromMilliseconds(2), Seed: 7);

        var first = Run(options);
        var second = Run(options);
        var other = Run(options with { Seed = 8 });

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);

        static List<int> Run(FaultOptions options)
        {
            var clock = new ManualClock();
            var inner = new QueueDevice();
            using var device = new FaultInjectorDevice(inner, options, clock);
            var received = new List<int>();
            var buffer = new byte[1518];
            for (int i = 0; i < 2_000; i++)
            {
                inner.Inject(TestFrames.Numbered(i));
                clock.Advance(Duration.FromMicroseconds(100));
                while (device.Receive(buffer) > 0)
                {
                    received.Add(TestFrames.Sequence(buffer));
                }
            }
            clock.Advance(Duration.FromSeconds(1));
            while (device.Receive(buffer) > 0)
            {
                received.Add(TestFrames.Sequence(buffer));
            }
            return received;
        }
    }

    [Fact]
    public void TryReceive_DuplicateAll_EachFrameTwiceInARow()
    {
        using var device = Create(new FaultOptions(Duplicate: 1));
        Inject(0, 3);

        Assert.Equal([0, 0, 1, 1, 2, 2], ReceiveAll(device));
        Assert.Equal(3, device.Duplicated);
    }

    [Fact]
    public void TryReceive_HandlerChangesDuplicatedFrame_CopyIsPristine()
    {
        using var device = Create(new FaultOptions(Duplicate: 1));
        _inner.Inject(TestFrames.Numbered(9));
        var zeroing = new ZeroingHandler();

        Assert.True(device.TryReceive(ref zeroing));
        var buffer = new byte[100];
        Assert.Equal(60, device.Receive(buffer));

        Assert.Equal(9, TestFrames.Sequence(buffer));
    }

    [Fact]
    public void TryReceive_Delay_FrameHeldUntilDue()
    {
        using var device = Create(new FaultOptions(Delay: Duration.FromMilliseconds(5)));
        _clock.Now = Instant.FromMilliseconds(1);
        Inject(0, 1);

        Assert.Empty(ReceiveAll(device));
        Assert.Equal(Instant.FromMilliseconds(6), device.NextRelease);
        _clock.Advance(Duration.FromMicroseconds(4_999));
        Assert.Empty(ReceiveAll(device));
        _clock.Advance(Duration.FromMicroseconds(1));

        Assert.Equal([0], ReceiveAll(device));
        Assert.Equal(Instant.Never, device.NextRelease);
    }

    [Fact]
    public void WaitForFrame_ReceivedFrameHeld_WaitsOnlyUntilDueThenReportsIt()
    {
        using var device = Create(new FaultOptions(Delay: Duration.FromMilliseconds(5)));
        _inner.WhileWaiting = timeout => _clock.Advance(Duration.FromTimeSpan(timeout));
        Inject(0, 1);
        Assert.Empty(ReceiveAll(device));

        bool pending = device.WaitForFrame(TimeSpan.FromSeconds(1));

        Assert.True(pending);
        Assert.Equal([TimeSpan.FromMilliseconds(5)], _inner.Waits);
        Assert.Equal([0], ReceiveAll(device));
    }

    [Fact]
    public void WaitForFrame_NothingHeld_WaitsTheWholeTimeout()
    {
        using var device = Create(new FaultOptions(Delay: Duration.FromMilliseconds(5)));

        Assert.False(device.WaitForFrame(TimeSpan.FromSeconds(1)));
        Assert.Equal([TimeSpan.FromSeconds(1)], _inner.Waits);
    }

    [Fact]
    public void WaitForFrame_InfiniteTimeoutWithFrameHeld_WaitsUntilDue()
    {
        using var device = Create(new FaultOptions(Delay: Duration.FromMilliseconds(5)));
        Inject(0, 1);
        Assert.Empty(ReceiveAll(device));

        device.WaitForFrame(Timeout.InfiniteTimeSpan);

        Assert.Equal([TimeSpan.FromMilliseconds(5)], _inner.Waits);
    }

    [Fact]
    public void TryReceive_Reorder_FramesOvertakenAndNoneLost()
    {
        using var device = Create(new FaultOptions(Reorder: 0.3, Seed: 3));
        Inject(0, 1_000);

        var received = ReceiveAll(device);
        _clock.Advance(FaultInjectorDevice.MaxReorderHold);
        received.AddRange(ReceiveAll(device));

        Assert.Equal(Enumerable.Range(0, 1_000), received.Order());
        Assert.InRange(device.Reordered, 230, 370);
        int inversions = received.Zip(received.Skip(1)).Count(p => p.First > p.Second);
        Assert.True(inversions > 100, $"{inversions} inversions");
    }

    [Fact]
    public void TryReceive_HeldQueueFull_FurtherFramesOverflow()
    {
        using var device = Create(new FaultOptions(Delay: Duration.FromSeconds(1)));
        Inject(0, FaultInjectorDevice.HeldFrameCapacity + 76);

        while (_inner.Incoming.Count > 0)
        {
            Assert.False(device.TryReceive(ref DiscardHandler.Instance));
        }
        Assert.Equal(76, device.Overflowed);
        Assert.Equal(FaultInjectorDevice.HeldFrameCapacity, device.HeldFrames);
        _clock.Advance(Duration.FromSeconds(1));

        Assert.Equal(Enumerable.Range(0, FaultInjectorDevice.HeldFrameCapacity), ReceiveAll(device));
    }

    [Fact]
    public void TryTransmit_NoFaults_InnerGetsFrameAtOnce()
    {
        using var device = Create(new FaultOptions());

        Assert.True(device.TrySend(TestFrames.Numbered(1)));

        Assert.Equal([1], SentSequences());
    }

    [Fact]
    public void TryTransmit_Delay_SentWhenDueOnALaterCall()
    {
        using var device = Create(new FaultOptions(Delay: Duration.FromMilliseconds(5)));

        Assert.True(device.TrySend(TestFrames.Numbered(1)));
        _clock.Advance(Duration.FromMilliseconds(2));
        Assert.True(device.TrySend(TestFrames.Numbered(2)));
        Assert.Empty(_inner.Sent);
        _clock.Advance(Duration.FromMilliseconds(3));
        device.TryReceive(ref DiscardHandler.Instance);
        Assert.Equal([1], SentSequences());
        _clock.Advance(Duration.FromMilliseconds(2));
        device.WaitForFrame(TimeSpan.Zero);

        Assert.Equal([1, 2], SentSequences());
    }

    [Fact]
    public void WaitForFrame_TransmittedFrameHeld_WaitsOnlyUntilDueAndSendsIt()
    {
        using var device = Create(new FaultOptions(Delay: Duration.FromMilliseconds(5)));
        _inner.WhileWaiting = timeout => _clock.Advance(Duration.FromTimeSpan(timeout));
        device.TrySend(TestFrames.Numbered(1));

        Assert.True(device.WaitForFrame(TimeSpan.FromSeconds(1)));

        Assert.Equal([TimeSpan.FromMilliseconds(5)], _inner.Waits);
        Assert.Equal([1], SentSequences());
    }

    [Fact]
    public void WaitForFrame_InnerRefusesDueFrame_WaitsAMillisecondNotZero()
    {
        using var device = Create(new FaultOptions(Delay: Duration.FromMilliseconds(5)));
        device.TrySend(TestFrames.Numbered(1));
        _inner.TransmitCapacity = 0;
        _clock.Advance(Duration.FromMilliseconds(5));

        device.WaitForFrame(TimeSpan.FromSeconds(1));
        _inner.TransmitCapacity = 1;
        device.WaitForFrame(TimeSpan.FromSeconds(1));

        Assert.Equal([TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1)], _inner.Waits);
        Assert.Equal([1], SentSequences());
    }

    [Fact]
    public void TryTransmit_DuplicateAll_InnerGetsEachFrameTwice()
    {
        using var device = Create(new FaultOptions(Duplicate: 1));

        device.TrySend(TestFrames.Numbered(1));
        device.TrySend(TestFrames.Numbered(2));

        Assert.Equal([1, 1, 2, 2], SentSequences());
    }

    [Fact]
    public void TryTransmit_DropAll_FrameBuiltButNeverSent()
    {
        using var device = Create(new FaultOptions(Drop: 1));
        var builder = new CountingBuilder(TestFrames.Numbered(1));

        Assert.True(device.TryTransmit(60, ref builder));

        Assert.Equal(1, builder.Calls);
        Assert.Empty(_inner.Sent);
        Assert.Equal(1, device.Dropped);
    }

    [Fact]
    public void TryTransmit_InnerFull_ReturnsFalseWithoutBuilding()
    {
        _inner.TransmitCapacity = 0;
        using var device = Create(new FaultOptions());
        var builder = new CountingBuilder(TestFrames.Numbered(1));

        Assert.False(device.TryTransmit(60, ref builder));
        Assert.Equal(0, builder.Calls);
    }

    [Fact]
    public void TryTransmit_HeldFrameRefusedByInner_NewFrameRefusedUntilItGoes()
    {
        using var device = Create(new FaultOptions(Delay: Duration.FromMilliseconds(1)));
        _inner.TransmitCapacity = 0;
        Assert.True(device.TrySend(TestFrames.Numbered(1)));
        _clock.Advance(Duration.FromMilliseconds(1));

        Assert.False(device.TrySend(TestFrames.Numbered(2)));
        _inner.TransmitCapacity = 10;
        Assert.True(device.TrySend(TestFrames.Numbered(2)));
        _clock.Advance(Duration.FromMilliseconds(1));
        device.WaitForFrame(TimeSpan.Zero);

        Assert.Equal([1, 2], SentSequences());
    }

    [Fact]
    public void TryTransmit_Reorder_FramesOvertakenAndNoneLost()
    {
        using var device = Create(new FaultOptions(Reorder: 0.5, Seed: 5));
        for (int i = 0; i < 200; i++)
        {
            device.TrySend(TestFrames.Numbered(i));
        }
        _clock.Advance(FaultInjectorDevice.MaxReorderHold);
        device.WaitForFrame(TimeSpan.Zero);

        var sequences = SentSequences();
        Assert.Equal(Enumerable.Range(0, 200), sequences.Order());
        Assert.NotEqual(Enumerable.Range(0, 200), sequences);
        Assert.InRange(device.Reordered, 70, 130);
    }

    [Fact]
    public void TryTransmit_LongerThanMaxFrame_Throws()
    {
        using var device = Create(new FaultOptions(Delay: Duration.FromMilliseconds(1)));

        Assert.Throws<ArgumentOutOfRangeException>(() => device.TrySend(new byte[1519]));
    }

    [Fact]
    public void Constructor_ProbabilityOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(new FaultOptions(Drop: 2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(new FaultOptions(Delay: Duration.FromMilliseconds(-1))));
    }

    [Fact]
    public void Dispose_FramesHeld_InnerDisposed()
    {
        var device = Create(new FaultOptions(Delay: Duration.FromSeconds(1)));
        Inject(0, 3);
        device.TryReceive(ref DiscardHandler.Instance);
        device.TrySend(TestFrames.Numbered(9));

        device.Dispose();

        Assert.True(_inner.IsDisposed);
        Assert.Equal(0, device.HeldFrames);
        Assert.Throws<ObjectDisposedException>(() => device.TryReceive(ref DiscardHandler.Instance));
    }

    [Theory]
    [InlineData("")]
    [InlineData("drop=0.1,duplicate=0.1")]
    [InlineData("drop=0.1,duplicate=0.1,reorder=0.1,delay=1ms")]
    public void TryTransmitAndTryReceive_SteadyState_AllocateNothing(string faults)
    {
        Assert.True(FaultOptions.TryParse(faults, out var options, out string error), error);
        var clock = new ManualClock();
        using var device = new FaultInjectorDevice(new RingDevice(), options, clock);
        var frame = TestFrames.Numbered(1, 1000);
        var buffer = new byte[1518];
        // Long enough to reach the most frames held at once: buffers and queues grow to that, then stay.
        SteadyState.AssertAllocatesNothing(Exchange, warmup: 20_000, rounds: 10_000);

        void Exchange()
        {
            device.TrySend(frame);
            clock.Advance(Duration.FromMicroseconds(100));
            while (device.Receive(buffer) > 0)
            {
            }
        }
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0.5, 2)]
    public void TryTransmit_WhileAHeldFrameIsLent_LentFrameIntact(double duplicateAndReorder, int delayMs)
    {
        using var device = Create(new FaultOptions(Duplicate: duplicateAndReorder, Reorder: duplicateAndReorder,
            Delay: Duration.FromMilliseconds(delayMs), Seed: 3));
        Inject(0, 200);
        _clock.Advance(Duration.FromSeconds(1));

        var seen = new HashSet<int>();
        for (int round = 0; round < 4; round++)
        {
            var handler = new TransmitWhileHeldHandler(device, TestFrames.Numbered(10_000 + round));
            while (device.TryReceive(ref handler))
            {
                int sequence = TestFrames.Sequence(handler.HeldAfterTransmit);
                Assert.Equal(TestFrames.Numbered(sequence), handler.HeldAfterTransmit);
                seen.Add(sequence);
            }
            _clock.Advance(Duration.FromSeconds(1));
        }

        // A frame held back for reordering waits for later frames to pass, so the last few may stay held.
        Assert.InRange(seen.Count, 180, 200);
        Assert.NotEmpty(_inner.Sent);
    }

    private FaultInjectorDevice Create(FaultOptions options) => new(_inner, options, _clock);

    private void Inject(int first, int count)
    {
        for (int i = first; i < first + count; i++)
        {
            _inner.Inject(TestFrames.Numbered(i));
        }
    }

    private static List<int> ReceiveAll(INetworkDevice device)
    {
        var received = new List<int>();
        var buffer = new byte[1518];
        while (device.Receive(buffer) > 0)
        {
            received.Add(TestFrames.Sequence(buffer));
        }
        return received;
    }

    private List<int> SentSequences() => _inner.Sent.Select(f => TestFrames.Sequence(f)).ToList();

    private struct DiscardHandler : IFrameHandler
    {
        public static DiscardHandler Instance;

        public readonly void Handle(Span<byte> frame)
        {
        }
    }

    private readonly struct ZeroingHandler : IFrameHandler
    {
        public void Handle(Span<byte> frame) => frame.Clear();
    }

    private struct CountingBuilder(byte[] frame) : IFrameBuilder
    {
        public int Calls { get; private set; }

        public void Build(Span<byte> destination)
        {
            frame.CopyTo(destination);
            Calls++;
        }
    }
}
