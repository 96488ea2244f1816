namespace Unisharp.Cli.Bench;

/// <summary>One run of <c>bench block</c>: a tool copying disk 0 to disk 1 in blocks of <paramref name="Sectors"/> sectors.</summary>
/// <param name="Mbps">MB/s (10^6 bytes per second), NaN when the run failed.</param>
internal sealed record BlockBenchRow(string Tool, int Sectors, int QueueDepth, int DiskMib, int Rep, double Seconds, double Mbps, string Status);
