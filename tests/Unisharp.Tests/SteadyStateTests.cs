using Unisharp.Testing;
using Xunit.Sdk;

namespace Unisharp.Tests;

/// <summary>The allocation check the zero-allocation tests share: it must catch a steady allocation and forgive a one-off.</summary>
public class SteadyStateTests
{
    private static object? s_kept;

    [Fact]
    public void AssertAllocatesNothing_AllocationEveryRound_Fails()
    {
        var error = Assert.Throws<TrueException>(() =>
            SteadyState.AssertAllocatesNothing(() => s_kept = new byte[8], warmup: 10, rounds: 100));
        Assert.Contains("allocated", error.Message);
    }

    [Fact]
    public void AssertAllocatesNothing_AllocationEveryFewHundredRounds_Fails()
    {
        int round = 0;
        Assert.Throws<TrueException>(() =>
            SteadyState.AssertAllocatesNothing(() => s_kept = ++round % 300 == 0 ? new byte[8] : s_kept, warmup: 0, rounds: 1000));
    }

    [Fact]
    public void AssertAllocatesNothing_OneOffAllocation_Passes()
    {
        int round = 0;
        SteadyState.AssertAllocatesNothing(() => s_kept = ++round == 500 ? new byte[8] : s_kept, warmup: 100, rounds: 1000);
        Assert.Equal(3100, round);
    }
}
