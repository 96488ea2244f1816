namespace Unisharp.Cli.Bench;

/// <summary>What <c>unisharp bench block</c> was asked to do.</summary>
/// <param name="Tag">A suffix of the output files' names (DATE-block-TAG.*), or null.</param>
/// <param name="Modes">The copy modes of our targets: false (serial), true (parallel), or both.</param>
internal sealed record BlockBenchOptions(int[] Sizes, bool[] Modes, string[] Targets, int DiskMib, int Reps, string OutDirectory, string DiskDirectory, TimeSpan Timeout,
    string? Tag = null);
