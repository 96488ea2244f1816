namespace Unisharp.Cli.Bench;

/// <summary>One run of <c>bench http</c>: a tool against a target, one round.</summary>
/// <param name="RequestsPerSecond">What the tool reported, NaN when the run failed.</param>
/// <param name="P99Ms">The 99th percentile of the request latency in milliseconds, NaN when unknown.</param>
/// <param name="ClientCpuSeconds">User and system time of the tool's process (both cores count).</param>
/// <param name="ServerCpuSeconds">User and system time the server used during the run.</param>
internal sealed record HttpBenchRow(string Tool, string Target, string Stack, int Rep, double Seconds, long Completed, long Errors,
    double RequestsPerSecond, double P99Ms, double ClientCpuSeconds, double ServerCpuSeconds, string Status);
