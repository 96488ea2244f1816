using Xunit;

namespace Unisharp.Testing;

/// <summary>
/// Checks that a repeated operation, once warmed up, allocates nothing on the calling thread.
/// </summary>
/// <remarks>
/// The rounds after the warm-up are measured in three windows. An allocation made every round, or every few
/// hundred rounds, shows in all three. A one-off event of the test process (a method compiled again at a
/// higher tier, a runtime cache filled lazily, the shared array pool refilled after another test's garbage
/// collection) shows in one window at most, so two clean windows of three is the pass mark.
/// </remarks>
public static class SteadyState
{
    private const int Windows = 3;

    /// <summary>Runs <paramref name="round"/> <paramref name="warmup"/> times, then three windows of <paramref name="rounds"/>; returns what each window allocated.</summary>
    public static long[] MeasureAllocations(Action round, int warmup, int rounds)
    {
        for (int i = 0; i < warmup; i++)
        {
            round();
        }
        var windows = new long[Windows];
        for (int w = 0; w < Windows; w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < rounds; i++)
            {
                round();
            }
            windows[w] = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        return windows;
    }

    /// <summary>Fails unless at least two of the three measured windows allocated nothing.</summary>
    public static void AssertAllocatesNothing(Action round, int warmup, int rounds)
    {
        long[] windows = MeasureAllocations(round, warmup, rounds);
        int clean = windows.Count(bytes => bytes == 0);
        Assert.True(clean >= Windows - 1,
            $"the steady state allocates: windows of {rounds} rounds allocated {string.Join(", ", windows)} bytes");
    }
}
