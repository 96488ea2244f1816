namespace Unisharp.Cli.Bench;

/// <summary>What <c>unisharp bench net</c> was asked to do.</summary>
/// <param name="WarmupBytes">The untimed first connection's size per target; 0 for none.</param>
/// <param name="Tag">A suffix of the output files' names (DATE-net-TAG.*), or null.</param>
/// <param name="Mode"><see cref="NetBench.Receive"/> (the clients send) or <see cref="NetBench.Send"/> (the server sends).</param>
/// <param name="Client">How the clients send: <see cref="NetClients.Socket"/> or <see cref="NetClients.Nc"/>.</param>
internal sealed record NetBenchOptions(int[] Clients, long BytesPerClient, int Reps, string[] Targets, string OutDirectory, TimeSpan Timeout,
    long WarmupBytes = 0, string Client = NetClients.Socket, string? Tag = null, string Mode = NetBench.Receive);
