using Unisharp;
using Unisharp.Devices;

namespace Unisharp.Tests.Time;

public sealed class TimeTests
{
    [Fact]
    public void Instant_PlusDuration_AddsAndSaturatesAtNever()
    {
        Assert.Equal(new Instant(1500), new Instant(500) + Duration.FromMilliseconds(1));
        Assert.Equal(Instant.Never, new Instant(10) + Duration.MaxValue);
        Assert.Equal(Duration.FromMicroseconds(250), new Instant(750) - new Instant(500));
    }

    [Fact]
    public void Duration_Conversions_Exact()
    {
        Assert.Equal(1_000_000, Duration.FromSeconds(1).Microseconds);
        Assert.Equal(TimeSpan.FromMilliseconds(1.5), Duration.FromMicroseconds(1500).ToTimeSpan());
        Assert.Equal(Duration.FromMicroseconds(1500), Duration.FromTimeSpan(TimeSpan.FromMilliseconds(1.5)));
        Assert.Equal("2s", Duration.FromSeconds(2).ToString());
        Assert.Equal("3ms", Duration.FromMilliseconds(3).ToString());
    }

    [Fact]
    public void SystemClock_Now_IsMonotonic()
    {
        var clock = new SystemClock();
        var a = clock.Now;
        Thread.Sleep(2);
        var b = clock.Now;
        Assert.True(b > a);
    }

    [Fact]
    public async Task SystemClock_SleepAsync_WaitsAtLeastTheDuration()
    {
        var clock = new SystemClock();
        var before = clock.Now;
        await clock.SleepAsync(Duration.FromMilliseconds(20));
        var slept = clock.Now - before;
        Assert.True(slept >= Duration.FromMilliseconds(20), $"slept {slept.Microseconds} us of 20000");
    }

    [Fact]
    public async Task SystemClock_SleepAsync_ManyShortSleeps_NoneReturnsEarly()
    {
        // Short sleeps are where a timer's millisecond rounding shows: each must last at least what it asked.
        var clock = new SystemClock();
        for (int i = 0; i < 60; i++)
        {
            var duration = Duration.FromMicroseconds(1000 + i * 97);
            var before = clock.Now;
            await clock.SleepAsync(duration);
            var slept = clock.Now - before;
            Assert.True(slept >= duration, $"sleep {i}: slept {slept.Microseconds} us of {duration.Microseconds}");
        }
    }

    [Fact]
    public void SeededEntropy_SameSeed_SameBytes()
    {
        byte[] a = new byte[37], b = new byte[37], c = new byte[37];
        new SeededEntropy(7).Fill(a);
        new SeededEntropy(7).Fill(b);
        new SeededEntropy(8).Fill(c);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void SeededEntropy_NextDouble_InUnitInterval()
    {
        var random = new SeededEntropy(1);
        for (int i = 0; i < 10_000; i++)
        {
            double d = random.NextDouble();
            Assert.InRange(d, 0.0, 0.9999999999);
        }
    }
}
