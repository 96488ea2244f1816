namespace Unisharp.AspNetCore.Tests;

public sealed class UnikernelHostLifetimeTests
{
    [Theory]
    [InlineData(5000, 3000)]
    [InlineData(30000, 28000)]
    [InlineData(3000, 1500)]
    [InlineData(1000, 500)]
    [InlineData(0, 0)]
    public void ShutdownTimeout_GracePeriod_LeavesTheAppItsMarginWithin(int graceMs, int expectedMs)
    {
        var timeout = UnikernelHostLifetime.ShutdownTimeout(TimeSpan.FromMilliseconds(graceMs));

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), timeout);
        Assert.True(timeout <= TimeSpan.FromMilliseconds(graceMs));
    }
}
