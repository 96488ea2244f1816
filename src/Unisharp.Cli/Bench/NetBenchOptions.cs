namespace Unisharp.Cli.Bench;

/// <summary>What <c>unisharp bench net</c> was asked to do.</summary>
internal sealed record NetBenchOptions(int[] Clients, long BytesPerClient, int Reps, string[] Targets, string OutDirectory, TimeSpan Timeout);
