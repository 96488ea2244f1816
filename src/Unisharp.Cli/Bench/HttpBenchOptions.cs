namespace Unisharp.Cli.Bench;

/// <summary>What <c>unisharp bench http</c> was asked to do.</summary>
/// <param name="Tools">The load generators, each of <see cref="HttpClients.Tools"/>.</param>
/// <param name="Duration">How long each wrk run lasts.</param>
/// <param name="Connections">wrk's open connections (-c).</param>
/// <param name="Threads">wrk's threads (-t).</param>
/// <param name="Requests">ab's requests per run (-n).</param>
/// <param name="Concurrency">ab's requests in flight (-c).</param>
/// <param name="App">The example served, one of <see cref="HttpBench.Apps"/>.</param>
internal sealed record HttpBenchOptions(string[] Tools, string[] Targets, int Reps, TimeSpan Duration, int Connections, int Threads,
    int Requests, int Concurrency, string OutDirectory, TimeSpan Timeout, string? Tag = null, string App = "http");
