using System.Diagnostics;
using System.Runtime.InteropServices;
using Unisharp.Cli.Apps;
using Unisharp.Cli.Building;

namespace Unisharp.Cli.Commands;

/// <summary><c>unisharp run</c>: builds the app if needed, then runs it with the device options and boot arguments.</summary>
internal static class RunCommand
{
    /// <summary>
    /// The rest of run's options; Debug, MemoryMib, Cpus, Netns and Gdb are for the microVM targets. Gdb is <c>--gdb</c>'s
    /// port as given, empty when given without one, null without <c>--gdb</c>.
    /// </summary>
    public readonly record struct Extras(string? Pcap, string? NetFault, bool NoBuild, bool Verbose,
        bool Debug = false, int? MemoryMib = null, int? Cpus = null, string? Netns = null, string? NetOffload = null, string? Gdb = null);

    public static async Task<int> ExecuteAsync(string? appDirectory, string? target, string? net, IReadOnlyList<string> disks,
        IReadOnlyList<string> bootArguments, Extras extras, CancellationToken cancellationToken)
    {
        var (pcap, netFault, noBuild, verbose, _, _, _, _, netOffload, _) = extras;
        var app = AppProject.Open(appDirectory);
        var configuration = AppConfiguration.Load(app.Directory);
        string chosen = TargetCatalog.Require(target ?? configuration?.Target);
        net ??= configuration?.Net;
        var allDisks = disks.Count > 0 ? disks : configuration?.Disks ?? [];
        var boot = bootArguments.Count > 0 ? bootArguments : configuration?.BootArguments ?? [];
        RunOptions.CheckNet(net);
        RunOptions.CheckDisks(allDisks);
        if (netOffload is not null && netOffload is not ("on" or "off"))
        {
            throw new CliException($"invalid value '{netOffload}' for --net-offload: on or off", CliException.Usage);
        }
        if (TargetCatalog.IsMicroVm(chosen))
        {
            return await MicroVmRunCommand.ExecuteAsync(app, chosen, net, allDisks, boot, extras, cancellationToken).ConfigureAwait(false);
        }
        if (extras.Debug || extras.MemoryMib is not null || extras.Cpus is not null || extras.Netns is not null)
        {
            throw new CliException("--debug, --mem, --cpus and --netns are for the microVM targets (qemu, firecracker); on unix use --log-level=debug as a boot argument", CliException.Usage);
        }
        if (extras.Gdb is not null)
        {
            throw new CliException("--gdb is for the microVM targets (qemu, firecracker); on unix run the executable under gdb itself: gdb --args " +
                $"{AppBuilder.Relative(app.ArtifactPath(chosen))} ...", CliException.Usage);
        }

        string artifact = app.ArtifactPath(chosen);
        if (noBuild)
        {
            if (!File.Exists(artifact))
            {
                throw new CliException($"{AppBuilder.Relative(artifact)} does not exist: run without --no-build, or 'unisharp build' first");
            }
        }
        else
        {
            artifact = await AppBuilder.BuildAsync(app, chosen, force: false, verbose, cancellationToken).ConfigureAwait(false);
        }

        var start = new ProcessStartInfo(artifact) { UseShellExecute = false };
        foreach (string argument in RunOptions.DeviceArguments(net, allDisks))
        {
            start.ArgumentList.Add(argument);
        }
        if (pcap is not null)
        {
            start.ArgumentList.Add($"--pcap={Path.GetFullPath(pcap)}");
        }
        if (netFault is not null)
        {
            start.ArgumentList.Add($"--net-fault={netFault}");
        }
        if (netOffload is not null)
        {
            start.ArgumentList.Add($"--net-offload={netOffload}");
        }
        start.ArgumentList.Add("--");
        foreach (string argument in boot)
        {
            start.ArgumentList.Add(argument);
        }
        if (verbose)
        {
            Progress.Info($"running {AppBuilder.Relative(artifact)} {string.Join(' ', start.ArgumentList)}");
        }
        using var process = Process.Start(start) ?? throw new CliException($"cannot start {artifact}");
        // Ctrl-C reaches the unikernel too (same process group): let it stop itself and report its exit code.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            try
            {
                process.Kill(false);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }
        });
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        return process.ExitCode;
    }
}
