namespace Unisharp.Cli.Bench;

/// <summary>One measurement of <c>bench net</c>: a target at a client count, one repetition.</summary>
/// <param name="Mbps">Aggregate rate in MB/s (10^6 bytes per second), in <c>--mode udp-echo</c> datagrams echoed per second (and
/// <paramref name="TotalBytes"/> the datagrams echoed); NaN when the run failed or was skipped.</param>
/// <param name="ServerBytes">The bytes the sink reported reading (its log), -1 when unknown.</param>
internal sealed record NetBenchRow(string Target, string Stack, int Clients, int Rep, long BytesPerClient, long TotalBytes, double Seconds, double Mbps, long ServerBytes, string Status);
