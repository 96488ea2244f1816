using System.Diagnostics;
using Unisharp.Cli.Apps;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.Building;

/// <summary>Builds an app for a target: a NativeAOT publish with that target's device layer linked in.</summary>
internal static class AppBuilder
{
    /// <summary>The runtime the artifacts are for; only x86_64 Linux for now.</summary>
    public const string RuntimeIdentifier = "linux-x64";

    /// <summary>Builds <paramref name="app"/> for <paramref name="target"/> unless its artifact is up to date; returns the artifact's path.</summary>
    public static async Task<string> BuildAsync(AppProject app, string target, bool force, bool verbose, CancellationToken cancellationToken)
    {
        string artifact = app.ArtifactPath(target);
        string work = app.WorkDirectory(target);
        string stampFile = Path.Combine(work, "build.stamp");
        string stamp = BuildStamp.Compute(target, app.Directory, Path.Combine(UnisharpInstallation.Root, "src"), Path.Combine(UnisharpInstallation.Root, "build"));
        if (!force && File.Exists(artifact) && File.Exists(stampFile) && File.ReadAllText(stampFile) == stamp)
        {
            Progress.Info($"{Relative(artifact)} is up to date");
            return artifact;
        }

        await HostPackages.EnsureAsync(HostPackages.NativeAot, Progress.Info, cancellationToken).ConfigureAwait(false);
        Directory.CreateDirectory(work);
        string publish = Path.Combine(work, "publish");
        if (Directory.Exists(publish))
        {
            Directory.Delete(publish, recursive: true);
        }
        string root = UnisharpInstallation.Root;
        var arguments = new List<string>
        {
            "publish", app.ProjectFile,
            "-c", "Release",
            "-r", RuntimeIdentifier,
            "-o", publish,
            "--artifacts-path", Path.Combine(work, "artifacts"),
            "--nologo",
            "-p:PublishAot=true",
            $"-p:UnisharpTarget={target}",
            $"-p:UnisharpRoot={root.TrimEnd('/')}/",
            $"-p:UnisharpAppProject={app.ProjectFile}",
            $"-p:CustomAfterMicrosoftCommonTargets={Path.Combine(root, "build", "Unisharp.App.Inject.targets")}",
        };
        var clock = Stopwatch.StartNew();
        var result = await Progress.StepAsync($"building {app.Name} for {target} (NativeAOT, {RuntimeIdentifier})",
            _ => ProcessRunner.RunAsync("dotnet", arguments, app.Directory, echo: verbose, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            var errors = result.Output.Split('\n')
                .Where(l => l.Contains(": error ", StringComparison.Ordinal))
                .Select(l => l.Trim())
                .Distinct()
                .Take(15)
                .ToList();
            foreach (string line in errors)
            {
                Console.Error.WriteLine(line);
            }
            if (errors.Count == 0)
            {
                Console.Error.WriteLine(result.Output.Trim());
            }
            throw new CliException($"building {app.Name} for {target} failed (dotnet publish exit {result.ExitCode}); rerun with --verbose for the full log");
        }
        string built = Path.Combine(publish, app.Name);
        if (!File.Exists(built))
        {
            throw new CliException($"the build succeeded but did not produce {built}: is the project's AssemblyName '{app.Name}'?");
        }
        Directory.CreateDirectory(app.DistDirectory);
        File.Copy(built, artifact, overwrite: true);
        File.WriteAllText(stampFile, stamp);
        Progress.Info($"built {Relative(artifact)} ({new FileInfo(artifact).Length / 1024.0 / 1024.0:0.0} MB) in {clock.Elapsed.TotalSeconds:0.0} s");
        return artifact;
    }

    public static string Relative(string path)
    {
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }
}
