using Unisharp.Cli.Apps;
using Unisharp.Cli.Building;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.Bench;

/// <summary>The example apps a bench runs, built once per bench for each target.</summary>
internal static class BenchApps
{
    private static readonly Dictionary<string, Task<string>> s_unix = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, Task<string?>> s_microVm = new(StringComparer.Ordinal);

    public static string Directory(string app) => Path.Combine(UnisharpInstallation.Root, "examples", app);

    /// <summary>The <c>./unisharp</c> launcher of this checkout, for targets run through <c>unisharp run</c>.</summary>
    public static string Launcher => Path.Combine(UnisharpInstallation.Root, "unisharp");

    /// <summary>Builds examples/<paramref name="app"/> for unix (NativeAOT) unless up to date; returns the executable.</summary>
    public static Task<string> UnixAsync(string app, CancellationToken cancellationToken)
    {
        lock (s_unix)
        {
            if (!s_unix.TryGetValue(app, out var build) || build.IsFaulted || build.IsCanceled)
            {
                build = AppBuilder.BuildAsync(AppProject.Open(Directory(app)), "unix", force: false, verbose: false, cancellationToken);
                s_unix[app] = build;
            }
            return build;
        }
    }

    /// <summary>
    /// Builds examples/<paramref name="app"/> for a microVM target with <c>unisharp build -t TARGET</c>; returns null
    /// when ready, else why the target is skipped (not available in this version, or its build failed).
    /// </summary>
    public static Task<string?> MicroVmAsync(string app, string target, CancellationToken cancellationToken)
    {
        lock (s_microVm)
        {
            string key = app + "/" + target;
            if (!s_microVm.TryGetValue(key, out var build) || build.IsFaulted || build.IsCanceled)
            {
                build = BuildMicroVmAsync(app, target, cancellationToken);
                s_microVm[key] = build;
            }
            return build;
        }
    }

    private static async Task<string?> BuildMicroVmAsync(string app, string target, CancellationToken cancellationToken)
    {
        if (!TargetCatalog.IsAvailable(target))
        {
            return $"target not available in this version of unisharp ('unisharp targets')";
        }
        if (Environment.GetEnvironmentVariable("UNISHARP_QEMU") is null)
        {
            // Both microVM targets boot under QEMU here; say so (or install it) before the build, not after.
            await HostPackages.EnsureAsync([HostPackages.Command("qemu-system-x86_64", "qemu-system-x86")], Progress.Info, cancellationToken).ConfigureAwait(false);
        }
        var build = await Progress.StepAsync($"building {app} for {target}",
            _ => ProcessRunner.RunAsync(Launcher, ["build", Directory(app), "-t", target], cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (build.ExitCode != 0)
        {
            string last = build.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
            return $"building {app} for {target} failed: {last.Trim()}";
        }
        return null;
    }
}
