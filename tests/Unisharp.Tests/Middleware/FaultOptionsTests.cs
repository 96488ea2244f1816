using Unisharp.Devices.Middleware;

namespace Unisharp.Tests.Middleware;

public sealed class FaultOptionsTests
{
    [Fact]
    public void TryParse_EveryKey_ReadsEachValue()
    {
        bool ok = FaultOptions.TryParse("drop=0.05,reorder=0.02,duplicate=0.01,delay=5ms,seed=7", out var options, out string error);

        Assert.True(ok, error);
        Assert.Equal(new FaultOptions(0.05, 0.01, 0.02, Duration.FromMilliseconds(5), 7), options);
        Assert.Equal("", error);
    }

    [Fact]
    public void TryParse_Empty_NoFaults()
    {
        Assert.True(FaultOptions.TryParse("", out var options, out _));
        Assert.True(options.IsNone);
        Assert.Equal(1UL, options.Seed);
    }

    [Theory]
    [InlineData(" Drop = 5% , delay=250us ", 0.05, 250)]
    [InlineData("delay=1.5ms,", 0, 1500)]
    [InlineData("delay=2s", 0, 2_000_000)]
    [InlineData("drop=1", 1, 0)]
    public void TryParse_OtherForms_Accepted(string text, double drop, long delayMicroseconds)
    {
        Assert.True(FaultOptions.TryParse(text, out var options, out string error), error);
        Assert.Equal(drop, options.Drop, 9);
        Assert.Equal(Duration.FromMicroseconds(delayMicroseconds), options.Delay);
    }

    [Theory]
    [InlineData("lose=0.1", "lose: unknown key")]
    [InlineData("drop=abc", "drop: expected a probability")]
    [InlineData("drop=1.5", "drop: expected a probability")]
    [InlineData("reorder=-0.1", "reorder: expected a probability")]
    [InlineData("duplicate=", "duplicate: expected a probability")]
    [InlineData("delay=5", "delay: expected a duration")]
    [InlineData("delay=5min", "delay: expected a duration")]
    [InlineData("delay=0.5us", "delay: expected a duration")]
    [InlineData("seed=-1", "seed: expected an unsigned integer")]
    [InlineData("drop=0.1,drop=0.2", "drop: given more than once")]
    [InlineData("drop", "'drop' is not key=value")]
    public void TryParse_BadText_ErrorNamesKeyAndExpectation(string text, string expected)
    {
        bool ok = FaultOptions.TryParse(text, out var options, out string error);

        Assert.False(ok);
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
        Assert.True(options.IsNone);
    }

    [Fact]
    public void ToString_AnyOptions_ParsesBackToEqualOptions()
    {
        var options = new FaultOptions(0.125, 0.5, 0.1, Duration.FromMicroseconds(1500), 99);

        Assert.True(FaultOptions.TryParse(options.ToString(), out var parsed, out string error), error);
        Assert.Equal(options, parsed);
        Assert.Equal("drop=0.125,duplicate=0.5,reorder=0.1,delay=1500us,seed=99", options.ToString());
    }
}
