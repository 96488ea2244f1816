namespace Unisharp.Cli.Bench;

/// <summary>
/// examples/network (or <paramref name="app"/>, e.g. http) on the unix target: <c>unix-direct</c> is our TCP/IP stack over
/// a TAP device; <c>unix-socket</c> is the same app on the host's sockets, so the Linux kernel receives (the Linux peer).
/// </summary>
/// <param name="send">Bytes examples/network sends on each connection (<c>--send</c>), 0 for the sink.</param>
/// <param name="bootArguments">More boot arguments for the app (bench http: the certificate for HTTPS).</param>
internal sealed class UnixNetTarget(bool direct, string app = "network", long send = 0, IReadOnlyList<string>? bootArguments = null) : INetBenchTarget
{
    private string? _artifact;

    public string Name => direct ? "unix-direct" : "unix-socket";

    public string Stack => direct ? "Unisharp TCP/IP over TAP" : "Linux kernel TCP/IP over veth";

    public bool UsesTap => direct;

    public TimeSpan StartTimeout => TimeSpan.FromSeconds(30);

    public async Task<string?> PrepareAsync(CancellationToken cancellationToken)
    {
        _artifact = await BenchApps.UnixAsync(app, cancellationToken).ConfigureAwait(false);
        return null;
    }

    public IReadOnlyList<string> Command(string tap, string ns, string address, int port)
    {
        string artifact = _artifact ?? throw new InvalidOperationException("not prepared");
        string[] boot = send > 0 ? [$"--port={port}", $"--send={send}"] : [$"--port={port}", .. bootArguments ?? []];
        return direct
            ? [artifact, $"--net=tap:{tap}", "--", $"--ipv4={address}", .. boot]
            : [artifact, "--net=socket", "--", .. boot];
    }
}
