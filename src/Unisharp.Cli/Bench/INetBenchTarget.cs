namespace Unisharp.Cli.Bench;

/// <summary>
/// A receiver in <c>bench net</c>: one of our targets or a peer stack. Each runs in its own namespace; the clients
/// reach it at the same address, one virtual link away (the TAP's host side, or a veth pair to the kernel's stack).
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

    /// <summary>
    /// The command that starts the sink at <paramref name="address"/> (CIDR) in namespace <paramref name="ns"/>, on TAP
    /// <paramref name="tap"/> when it uses one (made by the sink, or for it, in that namespace).
    /// </summary>
    IReadOnlyList<string> Command(string tap, string ns, string address, int port);
}
