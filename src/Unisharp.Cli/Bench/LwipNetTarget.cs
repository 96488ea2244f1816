using Unisharp.Cli.Building;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.Bench;

/// <summary>
/// The lwIP peer: bench/peers/lwip-sink, a C sink on Debian's lwIP 2.1 (liblwip-dev) over a TAP device,
/// built with make (the packages it needs are installed when missing).
/// </summary>
internal sealed class LwipNetTarget : INetBenchTarget
{
    private static readonly HostPackages.Requirement[] s_requirements =
    [
        HostPackages.File("/usr/include/lwip/lwip/tcp.h", "lwIP's headers", "liblwip-dev"),
        HostPackages.Command("clang", "clang"),
        HostPackages.Command("make", "make"),
        HostPackages.Command("pkg-config", "pkg-config"),
    ];

    private string? _binary;

    public string Name => "lwip";

    public string Stack => "lwIP 2.1 (Debian liblwip-dev) over TAP";

    public bool UsesTap => true;

    public TimeSpan StartTimeout => TimeSpan.FromSeconds(30);

    public async Task<string?> PrepareAsync(CancellationToken cancellationToken)
    {
        await HostPackages.EnsureAsync(s_requirements, Progress.Info, cancellationToken).ConfigureAwait(false);
        string directory = Path.Combine(UnisharpInstallation.Root, "bench", "peers", "lwip-sink");
        var make = await ProcessRunner.RunAsync("make", ["-C", directory, "CC=clang"], cancellationToken: cancellationToken).ConfigureAwait(false);
        if (make.ExitCode != 0)
        {
            throw new CliException($"building {directory} failed (make exit {make.ExitCode}): {make.Output.Trim()}");
        }
        _binary = Path.Combine(directory, "lwip-sink");
        return null;
    }

    public IReadOnlyList<string> Command(string tap, string ns, string address, int port) =>
        [_binary ?? throw new InvalidOperationException("not prepared"), tap, address, port.ToString(System.Globalization.CultureInfo.InvariantCulture)];
}
