using Unisharp.Cli.Building;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.Bench;

/// <summary>
/// The physical limit: bench/peers/ack-responder, no stack, a pure ACK for every frame read from the same TAP device
/// class our stack uses (offload on), published with NativeAOT like our apps.
/// </summary>
internal sealed class AckNetTarget : INetBenchTarget
{
    private string? _binary;

    public string Name => "ack";

    public string Stack => "pure-ACK responder (no stack, nothing buffered) over TAP";

    public bool UsesTap => true;

    public TimeSpan StartTimeout => TimeSpan.FromSeconds(30);

    public async Task<string?> PrepareAsync(CancellationToken cancellationToken)
    {
        string directory = Path.Combine(UnisharpInstallation.Root, "bench", "peers", "ack-responder");
        string output = Path.Combine(directory, "bin", "publish");
        var publish = await Progress.StepAsync("building bench/peers/ack-responder (NativeAOT)", _ => ProcessRunner.RunAsync("dotnet",
            ["publish", Path.Combine(directory, "ack-responder.csproj"), "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", output, "--nologo", "-v", "q"],
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (publish.ExitCode != 0)
        {
            string last = publish.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.Contains("error", StringComparison.Ordinal)) ?? "";
            return $"building bench/peers/ack-responder failed (dotnet publish exit {publish.ExitCode}): {last.Trim()}";
        }
        _binary = Path.Combine(output, "ack-responder");
        return null;
    }

    public IReadOnlyList<string> Command(string tap, string ns, string address, int port) =>
        [_binary ?? throw new InvalidOperationException("not prepared"), tap, address, port.ToString(System.Globalization.CultureInfo.InvariantCulture)];
}
