namespace Unisharp.Cli.Bench;

/// <summary>
/// A receiver in <c>bench net</c>: one of our targets or a peer stack. Each runs in its own namespace; the clients
/// reach it at the same address over the same veth pair (bridged to the TAP for those that bring their own stack).
/// </summary>
internal interface INetBenchTarget
{
    /// <summary>The name on the command line and in the results.</summary>
    string Name { get; }

    /// <summary>What receives the bytes, for the results (e.g. "Unisharp TCP/IP over TAP").</summary>
    string Stack { get; }

    /// <summary>True when the server brings its own stack on a TAP device, false when it uses the namespace's kernel.</summary>
    bool UsesTap { get; }

    /// <summary>How long it may take from start to "sink listening" (a microVM boots first).</summary>
    TimeSpan StartTimeout { get; }

    /// <summary>Builds what it needs; returns null when ready, else why it is skipped.</summary>
    Task<string?> PrepareAsync(CancellationToken cancellationToken);

    /// <summary>The command that starts the sink on <paramref name="tap"/> (when it uses one) at <paramref name="address"/> (CIDR).</summary>
    IReadOnlyList<string> Command(string tap, string address, int port);
}
