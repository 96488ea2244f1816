using System.Diagnostics;
using Unisharp.Cli.Building;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.MicroVm;

/// <summary>
/// Finds the guest kernel of the microVM targets: <c>UNISHARP_KERNEL_DIR</c> when set, else the one
/// <c>kernel/build-kernel.sh</c> has cached, building it (with progress) when it is not built yet.
/// </summary>
internal static class KernelLocator
{
    /// <summary>Names a directory holding bzImage and vmlinux, instead of the cached build.</summary>
    public const string DirectoryVariable = "UNISHARP_KERNEL_DIR";

    /// <summary>The packages kernel/build-kernel.sh needs.</summary>
    private static readonly HostPackages.Requirement[] s_buildTools =
    [
        new("Debian's kernel source", "linux-source-6.1", () => Directory.Exists("/usr/src") && Directory.GetFiles("/usr/src", "linux-source-*.tar.xz").Length > 0),
        HostPackages.Command("make", "make"),
        HostPackages.Command("gcc", "gcc"),
        HostPackages.Command("flex", "flex"),
        HostPackages.Command("bison", "bison"),
        HostPackages.Command("bc", "bc"),
        HostPackages.Command("patch", "patch"),
        // The bzImage is LZ4-compressed (it unpacks fastest under TCG).
        HostPackages.Command("lz4", "lz4"),
        HostPackages.File("/usr/include/libelf.h", "libelf's headers", "libelf-dev"),
        HostPackages.File("/usr/include/openssl/ssl.h", "OpenSSL's headers", "libssl-dev"),
    ];

    public static async Task<KernelImage> FindAsync(CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } given)
        {
            var image = KernelImage.In(given);
            return image.IsComplete
                ? image
                : throw new CliException($"{DirectoryVariable}={given} holds no bzImage and vmlinux: point it at a directory with both, " +
                    $"or unset it to use the kernel built by kernel/build-kernel.sh");
        }
        if (FromPackage() is { } packaged)
        {
            return packaged;
        }
        string script = Path.Combine(UnisharpInstallation.Root, "kernel", "build-kernel.sh");
        return await FromScriptAsync(script, s_buildTools, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The kernel <paramref name="script"/> (kernel/build-kernel.sh, or a stand-in in tests) has cached, built now
    /// when it is not, after installing <paramref name="buildTools"/>.
    /// </summary>
    internal static async Task<KernelImage> FromScriptAsync(string script, IReadOnlyList<HostPackages.Requirement> buildTools,
        CancellationToken cancellationToken)
    {
        // The script's output mixes its progress with its result, on both streams: it writes the result to a file.
        string result = Path.GetTempFileName();
        try
        {
            var cached = await ProcessRunner.RunAsync("bash", [script, "--cached", "--result", result], cancellationToken: cancellationToken).ConfigureAwait(false);
            if (cached.ExitCode == 0)
            {
                return Checked(result);
            }
            if (cached.ExitCode != 3)
            {
                throw new CliException($"kernel/build-kernel.sh --cached failed (exit {cached.ExitCode}): {cached.Output.Trim()}");
            }

            // Not built yet: build it now, as run-tests does. It takes minutes (tens on a busy two-core machine).
            await HostPackages.EnsureAsync(buildTools, Progress.Info, cancellationToken).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            var built = await Progress.StepAsync("building the microVM kernel from Debian's linux-source (once; 3 to 40 minutes)",
                report => ProcessRunner.RunAsync("bash", [script, "--result", result], lineReceived: line =>
                {
                    if (line.StartsWith("build-kernel:", StringComparison.Ordinal))
                    {
                        report(line);
                    }
                }, cancellationToken: cancellationToken)).ConfigureAwait(false);
            if (built.ExitCode != 0)
            {
                throw new CliException($"building the kernel failed (kernel/build-kernel.sh exit {built.ExitCode}):\n{Tail(built.Output, 15)}\n" +
                    $"fix that and run kernel/build-kernel.sh, or set {DirectoryVariable} to a directory holding bzImage and vmlinux");
            }
            Progress.Info($"built the kernel in {clock.Elapsed.TotalMinutes:0.0} min");
            return Checked(result);
        }
        finally
        {
            File.Delete(result);
        }
    }

    /// <summary>The installed tool's kernel: the Unisharp.Kernel.x86_64 package of its version, when NuGet has it.</summary>
    private static KernelImage? FromPackage()
    {
        if (UnisharpInstallation.IsSourceTree)
        {
            return null;
        }
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages
            ? packages
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var image = KernelImage.In(Path.Combine(cache, "unisharp.kernel.x86_64", UnisharpInstallation.PackageVersion.ToLowerInvariant(), "kernel"));
        return image.IsComplete ? image : null;
    }

    private static KernelImage Checked(string resultFile)
    {
        string directory = File.ReadAllText(resultFile).Trim();
        if (directory.Length == 0)
        {
            throw new CliException("kernel/build-kernel.sh succeeded but wrote no kernel directory to its --result file");
        }
        var image = KernelImage.In(directory);
        return image.IsComplete ? image : throw new CliException($"kernel/build-kernel.sh named '{directory}', which holds no bzImage and vmlinux");
    }

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines)).Trim();
}
