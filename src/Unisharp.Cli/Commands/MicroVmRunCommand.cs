using Unisharp.Cli.Apps;
using Unisharp.Cli.Building;
using Unisharp.Cli.MicroVm;
using Unisharp.Cli.Publishing;

namespace Unisharp.Cli.Commands;

/// <summary><c>unisharp run -t qemu|firecracker</c>: builds the image if needed and boots it under QEMU.</summary>
internal static class MicroVmRunCommand
{
    public static async Task<int> ExecuteAsync(AppProject app, string target, string? net, IReadOnlyList<string> diskOptions,
        IReadOnlyList<string> bootArguments, RunCommand.Extras extras, CancellationToken cancellationToken)
    {
        // Everything that can be wrong on the command line is said before a long build.
        if (net == "socket")
        {
            throw new CliException("--net socket is for the unix target: a microVM has no host sockets, use --net tap:NAME", CliException.Usage);
        }
        if (extras.NetFault is not null)
        {
            throw new CliException("--net-fault is not available on the microVM targets yet", CliException.Usage);
        }
        if (extras.MemoryMib is int mib and (< 64 or > 65536))
        {
            throw new CliException($"invalid --mem {mib}: a microVM needs 64 to 65536 MiB", CliException.Usage);
        }
        if (extras.Cpus is int cpus and (< 1 or > 64))
        {
            throw new CliException($"invalid --cpus {cpus}: 1 to 64", CliException.Usage);
        }
        string? tap = net?[4..];
        if (tap is null && (extras.Pcap is not null || extras.Netns is not null))
        {
            throw new CliException("--pcap and --netns need a network card: add --net tap:NAME", CliException.Usage);
        }
        int? gdbPort = extras.Gdb is null ? null : GdbSession.ParsePort(extras.Gdb);
        if (gdbPort is int port)
        {
            GdbSession.CheckPortFree(port);
        }
        var disks = diskOptions.Select(MicroVmDisk.Parse).ToList();
        foreach (var disk in disks.Where(d => !Path.Exists(d.Path)))
        {
            throw new CliException($"disk '{disk.Name}': {disk.Path} does not exist");
        }
        // The image's files are checked before a long build too.
        ImageFile.ParseAll(extras.Files ?? []);
        var publish = PublishedPort.ParseAll(extras.Publish ?? []);
        if (tap is null && publish.Count > 0)
        {
            throw new CliException("--publish forwards into the VM's network: add --net tap:NAME", CliException.Usage);
        }
        var guest = RunCommand.PublishGuest(publish, bootArguments, extras.Netns is null);
        // Ports are taken before the build, so one in use stops the run at once; the forwarder ends with the VM.
        await using var forwarder = publish.Count > 0 ? PortForwarder.Bind(publish) : null;

        string qemu = await MicroVmRunner.FindQemuAsync(cancellationToken).ConfigureAwait(false);
        string artifact = app.ArtifactPath(target);
        var image = new MicroVmImage(artifact, target);
        if (extras.NoBuild)
        {
            if (extras.Files is { Count: > 0 })
            {
                throw new CliException("--file packs files into the image, which --no-build leaves as it is: drop one of them", CliException.Usage);
            }
            if (!image.Exists)
            {
                throw new CliException($"{AppBuilder.Relative(artifact)} does not exist: run without --no-build, or 'unisharp build -t {target}' first");
            }
        }
        else
        {
            await AppBuilder.BuildAsync(app, target, force: false, extras.Verbose, cancellationToken, extras.Files).ConfigureAwait(false);
        }

        if (gdbPort is not null && !File.Exists(image.Symbols))
        {
            throw new CliException($"{AppBuilder.Relative(image.Directory)} has no {MicroVmImage.SymbolsName} (the app's symbols, for gdb): rebuild it with 'unisharp build -t {target} --force'");
        }

        string machine = target == "firecracker" ? "microvm" : "pc";
        string? firmware = MicroVmLaunch.QbootFirmware;
        if (machine == "pc" && !MicroVmRunner.HasFirmware(qemu, firmware))
        {
            Progress.Info($"QEMU has no {firmware} (qboot, from qemu-system-data): booting from SeaBIOS, about 0.1 s slower under TCG");
            firmware = null;
        }
        string accelerator = await AcceleratorProbe.ChooseAsync(qemu, machine, image.Kernel, cancellationToken).ConfigureAwait(false);
        var launch = new MicroVmLaunch
        {
            Target = target,
            Kernel = image.Kernel,
            Initrd = image.Initrd,
            MemoryMib = extras.MemoryMib ?? MicroVmLaunch.DefaultMemoryMib,
            Cpus = extras.Cpus ?? 1,
            Accelerator = accelerator,
            Disks = disks,
            Tap = tap,
            Debug = extras.Debug,
            TscKhz = accelerator == "tcg" ? MicroVmLaunch.HostTscKhz() : null,
            NoApicTimer = accelerator == "tcg",
            BootArguments = bootArguments,
            Offload = extras.NetOffload != "off",
            Firmware = firmware,
            GdbPort = gdbPort,
        };
        Func<System.Diagnostics.Process, Task>? started = null;
        GdbForwarder? gdbForwarder = null;
        if (gdbPort is int gdb)
        {
            string? kernelSymbols = await GdbSession.KernelSymbolsAsync(image, cancellationToken).ConfigureAwait(false);
            if (tap is not null)
            {
                // QEMU then runs in the TAP's namespace, whose loopback gdb on this host cannot reach.
                gdbForwarder = GdbForwarder.Start(gdb);
                launch = launch with { GdbSocket = gdbForwarder.SocketPath };
            }
            started = qemuProcess => GdbSession.AnnounceAsync(qemuProcess, gdb, gdbForwarder, image, kernelSymbols, app.Name);
        }

        GuestNetwork? network = null;
        try
        {
            if (tap is not null)
            {
                network = await GuestNetwork.CreateAsync(tap, extras.Netns, bootArguments, cancellationToken).ConfigureAwait(false);
                Progress.Info(network.Describe());
                if (forwarder is not null)
                {
                    RunCommand.PublishInto(forwarder, network.Namespace, guest!);
                }
            }
            return await MicroVmRunner.RunAsync(qemu, launch, network, extras.Pcap, extras.Verbose, started).ConfigureAwait(false);
        }
        finally
        {
            if (network is not null)
            {
                await network.DisposeAsync().ConfigureAwait(false);
            }
            if (gdbForwarder is not null)
            {
                await gdbForwarder.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
