namespace Unisharp.Cli.HostTools;

/// <summary>
/// Makes sure the Debian packages a verb needs are installed: installs them with apt-get when running as
/// root (as on the project's machines), or says exactly which to install.
/// </summary>
internal static class HostPackages
{
    /// <summary>A requirement: satisfied when <see cref="Present"/> says so, else installed from <see cref="Package"/>.</summary>
    public sealed record Requirement(string What, string Package, Func<bool> Present);

    public static Requirement Command(string command, string package) =>
        new($"the '{command}' command", package, () => ProcessRunner.Which(command) is not null);

    public static Requirement File(string path, string what, string package) =>
        new(what, package, () => System.IO.File.Exists(path));

    /// <summary>What an app build with NativeAOT needs: a C toolchain to link and zlib's headers.</summary>
    public static readonly Requirement[] NativeAot =
    [
        Command("clang", "clang"),
        File("/usr/include/zlib.h", "zlib's headers", "zlib1g-dev"),
    ];

    public static async Task EnsureAsync(IEnumerable<Requirement> requirements, Action<string> report, CancellationToken cancellationToken)
    {
        var missing = requirements.Where(r => !r.Present()).ToList();
        if (missing.Count == 0)
        {
            return;
        }
        string packages = string.Join(' ', missing.Select(r => r.Package).Distinct());
        if (ProcessRunner.Which("apt-get") is null || Environment.UserName != "root")
        {
            throw new CliException($"missing {string.Join(", ", missing.Select(r => r.What))}: install the Debian package(s) {packages} (apt-get install {packages})");
        }
        report($"installing {packages} (apt-get)");
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        var install = await ProcessRunner.RunAsync("apt-get", ["install", "-y", "-q", "--no-install-recommends", .. packages.Split(' ')], environment: env, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (install.ExitCode != 0)
        {
            // The package lists may be missing on a fresh machine: refresh them once and try again.
            await ProcessRunner.RunAsync("apt-get", ["update", "-q"], environment: env, cancellationToken: cancellationToken).ConfigureAwait(false);
            install = await ProcessRunner.RunAsync("apt-get", ["install", "-y", "-q", "--no-install-recommends", .. packages.Split(' ')], environment: env, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        var still = missing.Where(r => !r.Present()).ToList();
        if (install.ExitCode != 0 || still.Count > 0)
        {
            string tail = string.Join('\n', install.Output.Split('\n').TakeLast(5));
            throw new CliException($"could not install {packages} with apt-get (exit {install.ExitCode}): {tail.Trim()}");
        }
    }
}
