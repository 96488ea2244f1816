using System.Diagnostics;
using Unisharp.Cli.Apps;
using Unisharp.Cli.HostTools;
using Unisharp.Cli.MicroVm;

namespace Unisharp.Cli.Building;

/// <summary>Builds an app for a target: a NativeAOT publish with that target's device layer linked in.</summary>
internal static class AppBuilder
{
    /// <summary>The runtime the artifacts are for; only x86_64 Linux for now.</summary>
    public const string RuntimeIdentifier = "linux-x64";

    /// <summary>
    /// Builds <paramref name="app"/> for <paramref name="target"/> unless its artifact is up to date; returns the
    /// artifact's path (the executable on unix, the image folder of a microVM target).
    /// </summary>
    /// <param name="files">
    /// <c>GUEST_PATH=HOST_PATH</c> files for a microVM image; none given: the configured ones (unisharp.json). When only they
    /// changed, the initrd is packed again from the app already published.
    /// </param>
    public static async Task<string> BuildAsync(AppProject app, string target, bool force, bool verbose, CancellationToken cancellationToken,
        IReadOnlyList<string>? files = null)
    {
        string artifact = app.ArtifactPath(target);
        bool microVm = TargetCatalog.IsMicroVm(target);
        if (!microVm && files is { Count: > 0 })
        {
            throw new CliException("--file puts files into a microVM image (qemu, firecracker); a unix app reads the host's files itself", CliException.Usage);
        }
        var imageFiles = microVm ? ImageFile.ParseAll(files is { Count: > 0 } ? files : AppConfiguration.Load(app.Directory)?.Files ?? []) : [];
        var kernel = microVm ? await KernelLocator.FindAsync(cancellationToken).ConfigureAwait(false) : null;
        var image = new MicroVmImage(artifact, target);
        string work = app.WorkDirectory(target);
        string stampFile = Path.Combine(work, "build.stamp");
        string[] roots = [app.Directory, Path.Combine(UnisharpInstallation.Root, "src"), Path.Combine(UnisharpInstallation.Root, "build"), .. kernel is null ? [] : (string[])[kernel.Directory]];
        string stamp = BuildStamp.Compute(target, roots);
        bool exists = microVm ? image.Exists : File.Exists(artifact);
        string filesStampFile = Path.Combine(work, "files.stamp");
        string filesStamp = ImageFile.Stamp(imageFiles);
        if (!force && exists && File.Exists(stampFile) && File.ReadAllText(stampFile) == stamp)
        {
            string published = Path.Combine(work, "publish", app.Name);
            if (!microVm || File.Exists(filesStampFile) && File.ReadAllText(filesStampFile) == filesStamp)
            {
                Progress.Info($"{Relative(artifact)} is up to date");
                if (microVm)
                {
                    image.WriteLaunchFiles(LaunchFromConfiguration(app, image));
                }
                return artifact;
            }
            if (File.Exists(published))
            {
                // Only the image's files changed: the app published last time is packed again with them.
                long packed = await Progress.StepAsync($"packing {Relative(image.Initrd)} again (the image's files changed)",
                    _ => Task.FromResult(image.Pack(published, imageFiles))).ConfigureAwait(false);
                File.WriteAllText(filesStampFile, filesStamp);
                image.WriteLaunchFiles(LaunchFromConfiguration(app, image));
                Progress.Info($"packed {Relative(artifact)}/: initrd {Megabytes(packed)}{DescribeFiles(imageFiles)}");
                return artifact;
            }
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
        if (!UnisharpInstallation.IsSourceTree)
        {
            arguments.Add("-p:UnisharpReferences=Package");
            arguments.Add($"-p:UnisharpVersion={UnisharpInstallation.PackageVersion}");
        }
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
        if (microVm)
        {
            long initrd = await Progress.StepAsync($"packing {Relative(image.Initrd)} (initramfs: the app as /init, its libraries)",
                _ => Task.FromResult(image.Build(built, kernel!, imageFiles))).ConfigureAwait(false);
            image.WriteLaunchFiles(LaunchFromConfiguration(app, image));
            File.WriteAllText(stampFile, stamp);
            File.WriteAllText(filesStampFile, filesStamp);
            Progress.Info($"built {Relative(artifact)}/ in {clock.Elapsed.TotalSeconds:0.0} s: {MicroVmImage.KernelName} {Megabytes(new FileInfo(image.Kernel).Length)}, " +
                $"initrd {Megabytes(initrd)} (app {Megabytes(new FileInfo(built).Length)} before compression){DescribeFiles(imageFiles)}");
            return artifact;
        }
        File.Copy(built, artifact, overwrite: true);
        File.WriteAllText(stampFile, stamp);
        Progress.Info($"built {Relative(artifact)} ({Megabytes(new FileInfo(artifact).Length)}) in {clock.Elapsed.TotalSeconds:0.0} s");
        return artifact;
    }

    /// <summary>The launch files of an image describe the app's configured disks, network and boot arguments (unisharp.json).</summary>
    private static MicroVmLaunch LaunchFromConfiguration(AppProject app, MicroVmImage image)
    {
        var configuration = AppConfiguration.Load(app.Directory);
        string? net = configuration?.Net;
        return new MicroVmLaunch
        {
            Target = image.Target,
            Kernel = image.Kernel,
            Initrd = image.Initrd,
            Disks = [.. (configuration?.Disks ?? []).Select(MicroVmDisk.Parse)],
            Tap = net is not null && net.StartsWith("tap:", StringComparison.Ordinal) ? net[4..] : null,
            BootArguments = configuration?.BootArguments ?? [],
        };
    }

    private static string DescribeFiles(IReadOnlyList<ImageFile> files) =>
        files.Count == 0 ? "" : $"; files: {string.Join(", ", files.Select(f => f.GuestPath))}";

    private static string Megabytes(long bytes) => $"{bytes / 1024.0 / 1024.0:0.00} MB";

    public static string Relative(string path)
    {
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }
}
