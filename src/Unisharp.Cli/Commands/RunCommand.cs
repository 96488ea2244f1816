using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Unisharp.Cli.Apps;
using Unisharp.Cli.Building;
using Unisharp.Cli.HostTools;
using Unisharp.Cli.MicroVm;
using Unisharp.Cli.Publishing;

namespace Unisharp.Cli.Commands;

/// <summary><c>unisharp run</c>: builds the app if needed, then runs it with the device options and boot arguments.</summary>
internal static class RunCommand
{
    /// <summary>
    /// The rest of run's options; Debug, MemoryMib, Cpus and Gdb are for the microVM targets. Gdb is <c>--gdb</c>'s
    /// port as given, empty when given without one, null without <c>--gdb</c>.
    /// </summary>
    public readonly record struct Extras(string? Pcap, string? NetFault, bool NoBuild, bool Verbose,
        bool Debug = false, int? MemoryMib = null, int? Cpus = null, string? Netns = null, string? NetOffload = null,
        string? Gdb = null, IReadOnlyList<string>? Publish = null, IReadOnlyList<string>? Files = null);

    public static async Task<int> ExecuteAsync(string? appDirectory, string? target, string? net, IReadOnlyList<string> disks,
        IReadOnlyList<string> bootArguments, Extras extras, CancellationToken cancellationToken)
    {
        bool noBuild = extras.NoBuild;
        bool verbose = extras.Verbose;
        string? netOffload = extras.NetOffload;
        var app = AppProject.Open(appDirectory);
        var configuration = AppConfiguration.Load(app.Directory);
        string chosen = TargetCatalog.Require(target ?? configuration?.Target);
        net ??= configuration?.Net;
        var allDisks = disks.Count > 0 ? disks : configuration?.Disks ?? [];
        var boot = bootArguments.Count > 0 ? bootArguments : configuration?.BootArguments ?? [];
        RunOptions.CheckNet(net);
        RunOptions.CheckDisks(allDisks);
        var publish = PublishedPort.ParseAll(extras.Publish is { Count: > 0 } given ? given : configuration?.Publish ?? []);
        extras = extras with { Publish = [.. publish.Select(p => p.ToString())] };
        if (netOffload is not null && netOffload is not ("on" or "off"))
        {
            throw new CliException($"invalid value '{netOffload}' for --net-offload: on or off", CliException.Usage);
        }
        if (TargetCatalog.IsMicroVm(chosen))
        {
            return await MicroVmRunCommand.ExecuteAsync(app, chosen, net, allDisks, boot, extras, cancellationToken).ConfigureAwait(false);
        }
        if (extras.Debug || extras.MemoryMib is not null || extras.Cpus is not null)
        {
            throw new CliException("--debug, --mem and --cpus are for the microVM targets (qemu, firecracker); on unix use --log-level=debug as a boot argument", CliException.Usage);
        }
        if (extras.Files is { Count: > 0 })
        {
            throw new CliException("--file puts files into a microVM image (qemu, firecracker); a unix app reads the host's files itself", CliException.Usage);
        }
        if (extras.Gdb is not null)
        {
            throw new CliException("--gdb is for the microVM targets (qemu, firecracker); on unix run the executable under gdb itself: gdb --args " +
                $"{AppBuilder.Relative(app.ArtifactPath(chosen))} ...", CliException.Usage);
        }
        string? tap = net is not null && net.StartsWith("tap:", StringComparison.Ordinal) ? net[4..] : null;
        if (tap is null && extras.Netns is not null)
        {
            throw new CliException("--netns needs a TAP: add --net tap:NAME", CliException.Usage);
        }
        if (tap is null && publish.FirstOrDefault(p => p.HostPort == p.GuestPort) is { HostPort: > 0 } same)
        {
            throw new CliException($"--publish {same}: not needed with --net socket, the app listens on the host's port {same.GuestPort} itself " +
                "(publish maps a different host port to it)", CliException.Usage);
        }
        // With host sockets the app listens in our own namespace, on its --ipv4= address or on all of them.
        var guest = tap is null ? IPAddress.Parse(GuestNetwork.Addresses(boot).Guest ?? "127.0.0.1") : PublishGuest(publish, boot, extras.Netns is null);
        // Ports are taken before the build, so one in use stops the run at once.
        await using var forwarder = publish.Count > 0 ? PortForwarder.Bind(publish) : null;

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

        GuestNetwork? network = null;
        if (tap is not null)
        {
            // Our stack's TAP lives in a namespace of its own with an address on the host side, as on the microVM
            // targets; the app runs inside it.
            network = await GuestNetwork.CreateAsync(tap, extras.Netns, boot, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            if (network is not null)
            {
                Progress.Info(network.Describe());
            }
            if (forwarder is not null)
            {
                PublishInto(forwarder, network?.Namespace, guest!);
            }
            return await RunAppAsync(artifact, network, net, allDisks, boot, extras).ConfigureAwait(false);
        }
        finally
        {
            if (network is not null)
            {
                await network.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The address <c>--publish</c> forwards to behind a TAP: the guest's <c>--ipv4=</c>, which a namespace of our own
    /// reaches only inside 198.18.0.0/15 (see <see cref="GuestNetwork"/>); null without <c>--publish</c>.
    /// </summary>
    internal static IPAddress? PublishGuest(IReadOnlyList<PublishedPort> publish, IReadOnlyList<string> boot, bool ownNamespace)
    {
        if (publish.Count == 0)
        {
            return null;
        }
        var (host, guest) = GuestNetwork.Addresses(boot);
        if (guest is null)
        {
            throw new CliException("--publish needs the guest's address: give the app a boot argument --ipv4=A.B.C.D/N (e.g. --ipv4=198.18.0.2/24)", CliException.Usage);
        }
        if (host is null && ownNamespace)
        {
            throw new CliException($"--publish: the guest's {guest} is outside 198.18.0.0/15, so its namespace has no route to it: use an address in 198.18.0.0/15", CliException.Usage);
        }
        return IPAddress.Parse(guest);
    }

    /// <summary>Starts the forwarder into network namespace <paramref name="ns"/> (null: the tool's own) and says so.</summary>
    internal static void PublishInto(PortForwarder forwarder, string? ns, IPAddress guest)
    {
        forwarder.Start(ns, guest);
        Progress.Info($"publish: {forwarder.Describe()}");
    }

    /// <summary>Runs the unix executable in the foreground; SIGINT and SIGTERM go on to it, and its exit code is ours.</summary>
    private static async Task<int> RunAppAsync(string artifact, GuestNetwork? network, string? net, IReadOnlyList<string> allDisks,
        IReadOnlyList<string> boot, Extras extras)
    {
        var (pcap, netFault, verbose, netOffload) = (extras.Pcap, extras.NetFault, extras.Verbose, extras.NetOffload);
        var start = new ProcessStartInfo(network is null ? artifact : network.ExecPrefix[0]) { UseShellExecute = false };
        if (network is not null)
        {
            // ip netns exec runs the app in place of itself: the process we signal is the app.
            foreach (string word in network.ExecPrefix.Skip(1).Append(artifact))
            {
                start.ArgumentList.Add(word);
            }
        }
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
        // The app stops itself on SIGINT and SIGTERM and exits 130 or 143: hand ours on and report its code. A
        // terminal's Ctrl-C reaches it directly as well (same process group); the app takes the first one.
        void Forward(PosixSignalContext context)
        {
            context.Cancel = true;
            if (!process.HasExited)
            {
                ProcessSignal.Send(process.Id, context.Signal == PosixSignal.SIGINT ? ProcessSignal.Interrupt : ProcessSignal.Terminate);
            }
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Forward);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Forward);
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        return process.ExitCode;
    }
}
