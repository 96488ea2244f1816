namespace Unisharp.Cli.Bench;

/// <summary>
/// examples/network as a microVM (<c>qemu</c> or <c>firecracker</c>), started with <c>unisharp run -t TARGET --net tap:NAME
/// --netns NS</c>: its TAP in the bench's namespace, where the clients are, as for unix-direct. Skipped, with the reason,
/// while this version of the tool cannot build the target. Under TCG here (no KVM): slow by nature.
/// </summary>
internal sealed class MicroVmNetTarget(string target) : INetBenchTarget
{
    public string Name => target;

    public string Stack => $"Unisharp TCP/IP in a {target} microVM (virtio-net over TAP)";

    public bool UsesTap => true;

    public TimeSpan StartTimeout => TimeSpan.FromSeconds(240);

    public Task<string?> PrepareAsync(CancellationToken cancellationToken) => BenchApps.MicroVmAsync("network", target, cancellationToken);

    public IReadOnlyList<string> Command(string tap, string ns, string address, int port) =>
        [BenchApps.Launcher, "run", BenchApps.Directory("network"), "-t", target, "--no-build", "--net", $"tap:{tap}", "--netns", ns, "--", $"--ipv4={address}", $"--port={port}"];
}
