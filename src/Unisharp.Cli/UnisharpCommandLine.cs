using System.CommandLine;
using System.Runtime.InteropServices;
using Unisharp.Cli.Apps;
using Unisharp.Cli.Commands;

namespace Unisharp.Cli;

/// <summary>The <c>unisharp</c> command line: verbs, options, help, and the mapping of failures to exit codes.</summary>
internal static class UnisharpCommandLine
{
    public static async Task<int> InvokeAsync(string[] args)
    {
        var root = Build();
        var parse = root.Parse(WithGdbValues(args));
        if (parse.Errors.Count > 0)
        {
            // The whole command path ("bench net "), so the hint names the help that explains the error.
            var names = new List<string>();
            for (var result = parse.CommandResult; result is not null && result.Command != root; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            {
                names.Insert(0, result.Command.Name);
            }
            string verb = names.Count == 0 ? "" : string.Join(' ', names) + " ";
            // "Unrecognized command" says more than the "required command" that follows from it.
            var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
            await Console.Error.WriteLineAsync($"unisharp: error: {error.Message} (see 'unisharp {verb}--help')").ConfigureAwait(false);
            return CliException.Usage;
        }
        // SIGTERM would end the runtime at once and orphan what a verb started (dotnet publish, QEMU): cancel the
        // verb instead, so it stops its children; verbs that run a child to the end handle the signal themselves.
        using var terminated = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            terminated.Cancel();
        });
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, terminated.Token).ConfigureAwait(false);
        }
        catch (CliException e)
        {
            await Console.Error.WriteLineAsync($"unisharp: error: {e.Message}").ConfigureAwait(false);
            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("unisharp: cancelled").ConfigureAwait(false);
            return 130;
        }
    }

    /// <summary>
    /// <c>--gdb</c>'s port is optional: a bare <c>--gdb</c> followed by a word that is not a number (the app's directory,
    /// another option) becomes <c>--gdb=DEFAULT</c>, so that the word keeps its own meaning. Boot arguments after <c>--</c> stay as they are.
    /// </summary>
    internal static string[] WithGdbValues(string[] args)
    {
        var result = (string[])args.Clone();
        for (int i = 0; i + 1 < result.Length && result[i] != "--"; i++)
        {
            if (result[i] == "--gdb" && (result[i + 1].Length == 0 || !result[i + 1].All(char.IsAsciiDigit)))
            {
                result[i] = $"--gdb={MicroVm.MicroVmLaunch.DefaultGdbPort}";
            }
        }
        return result;
    }

    internal static RootCommand Build()
    {
        var appDir = () => new Argument<string?>("app-dir")
        {
            Description = "The app's directory (holding its one .csproj). [default: the current directory]",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var target = () => new Option<string?>("--target", "-t")
        {
            Description = $"The target: {string.Join(", ", TargetCatalog.All)}. [default: the configured one, else {TargetCatalog.Default}]",
            HelpName = "target",
        };
        var net = () => new Option<string?>("--net")
        {
            Description = "Network for the unikernel: tap:NAME (our stack over a TAP interface) or socket (the host's sockets; unix only). " +
                "The TAP is made in a network namespace of its own, unisharp-PID, with a host-side address, deleted when the unikernel stops.",
            HelpName = "tap:NAME|socket",
        };
        var disk = () => new Option<string[]>("--disk")
        {
            Description = "Disk NAME backed by the file or block device PATH (append :ro for read-only). Repeatable.",
            HelpName = "NAME=PATH",
            AllowMultipleArgumentsPerToken = false,
        };
        var publish = () => new Option<string[]>("--publish", "-p")
        {
            Description = "Forward a host port to the unikernel's port: the tool listens on HOST_ADDR (127.0.0.1 unless given) and connects into " +
                "the unikernel's network namespace to its --ipv4= address; with --net socket it forwards to the app's own host port. Repeatable.",
            HelpName = Publishing.PublishedPort.Syntax,
            AllowMultipleArgumentsPerToken = false,
        };
        var file = () => new Option<string[]>("--file")
        {
            Description = "qemu, firecracker: put the file HOST_PATH into the image at GUEST_PATH, for the app to read (e.g. a TLS certificate a boot " +
                "argument names: --file /etc/tls/server.pem=server.pem -- --cert=/etc/tls/server.pem). Repeatable; replaces the configured ones.",
            HelpName = MicroVm.ImageFile.Syntax,
            AllowMultipleArgumentsPerToken = false,
        };
        var verbose = () => new Option<bool>("--verbose", "-v") { Description = "Show the full build log and the unikernel's command line." };
        var bootArgs = () => new Argument<string[]>("boot-arguments")
        {
            Description = "Boot arguments for the unikernel, after '--' (e.g. -- --port=8080).",
            Arity = ArgumentArity.ZeroOrMore,
        };

        var root = new RootCommand(
            "unisharp: build C# unikernels. An app written once against Unisharp's device interfaces runs as a Linux " +
            "process (unix) or as a microVM image (qemu, firecracker).\n\n" +
            "  unisharp configure examples/echo -t unix --net socket -- --port=7007\n" +
            "  unisharp build examples/echo\n" +
            "  unisharp run examples/echo\n" +
            "  unisharp run -t qemu examples/echo --net tap:tap0 -- --ipv4=198.18.0.2/24");

        {
            var dir = appDir(); var t = target(); var n = net(); var d = disk(); var p = publish(); var f = file(); var b = bootArgs();
            var command = new Command("configure", "Choose an app's target and the default device options and boot arguments for 'run' (writes unisharp.json).")
            { dir, t, n, d, p, f, b };
            command.SetAction(r => ConfigureCommand.Execute(r.GetValue(dir), r.GetValue(t), r.GetValue(n), r.GetValue(d) ?? [], r.GetValue(b) ?? [], r.GetValue(p),
                r.GetValue(f)));
            root.Subcommands.Add(command);
        }
        {
            var dir = appDir(); var t = target(); var v = verbose(); var f = file();
            var force = new Option<bool>("--force", "-f") { Description = "Rebuild even when the artifact is up to date." };
            var command = new Command("build", "Build the app for its target with NativeAOT into <app-dir>/dist/: on unix one executable, dist/<name>; " +
                "on qemu and firecracker an image folder, dist/<name>.qemu/ or dist/<name>.fc/ (kernel, initrd, launch.sh; firecracker.json).")
            { dir, t, f, force, v };
            command.SetAction((r, ct) => BuildCommand.ExecuteAsync(r.GetValue(dir), r.GetValue(t), r.GetValue(force), r.GetValue(v), ct, r.GetValue(f)));
            root.Subcommands.Add(command);
        }
        {
            var dir = appDir(); var t = target(); var n = net(); var d = disk(); var p = publish(); var f = file(); var v = verbose(); var b = bootArgs();
            var noBuild = new Option<bool>("--no-build") { Description = "Run the artifact as it is, without checking whether it needs a rebuild." };
            var pcap = new Option<string?>("--pcap")
            {
                Description = "Write every frame in and out of the network device to FILE (libpcap format). On qemu and firecracker: tcpdump on the host side of the TAP.",
                HelpName = "FILE",
            };
            var fault = new Option<string?>("--net-fault") { Description = "Seeded faults on the network device, e.g. drop=0.05,reorder=0.02,seed=7 (unix).", HelpName = "SPEC" };
            var debug = new Option<bool>("--debug") { Description = "qemu, firecracker: the kernel's messages on the console (loglevel=7) and the runtime's debug logs; otherwise a quiet kernel." };
            var mem = new Option<int?>("--mem") { Description = $"qemu, firecracker: the VM's memory in MiB. [default: {MicroVm.MicroVmLaunch.DefaultMemoryMib}]", HelpName = "MiB" };
            var cpus = new Option<int?>("--cpus") { Description = "qemu, firecracker: the VM's virtual CPUs. [default: 1]", HelpName = "N" };
            var netns = new Option<string?>("--netns")
            {
                Description = "With --net tap:NAME: make the TAP in this existing network namespace (it gets no address) instead of one of its own.",
                HelpName = "NAME",
            };
            var offload = new Option<string?>("--net-offload")
            {
                Description = "Checksum and segmentation offload (64 KiB TCP segments) on or off: on the unix TAP device, or on the microVM's virtio-net card " +
                    "(off gives QEMU's TAP vnet_hdr=off and the guest unisharp.offload=off). [default: on]",
                HelpName = "on|off",
            };
            var gdb = new Option<string?>("--gdb")
            {
                Description = $"qemu, firecracker (--gdb or --gdb=PORT): QEMU's gdbstub on 127.0.0.1:PORT [default: {MicroVm.MicroVmLaunch.DefaultGdbPort}], the VM stopped before its first " +
                    "instruction, the kernel and the app at fixed addresses (nokaslr norandmaps); prints the gdb command that attaches with the kernel's " +
                    "and the app's symbols. Break in the app with hbreak (it is not mapped yet), e.g. hbreak hello_Program___Main__.",
                HelpName = "PORT",
                Arity = ArgumentArity.ZeroOrOne,
            };
            var command = new Command("run", "Build the app if needed and run it (qemu, firecracker: boot its image under QEMU, serial console here); its exit code becomes ours.")
            { dir, t, n, d, p, f, pcap, fault, offload, debug, mem, cpus, netns, gdb, noBuild, v, b };
            command.SetAction((r, ct) => RunCommand.ExecuteAsync(r.GetValue(dir), r.GetValue(t), r.GetValue(n), r.GetValue(d) ?? [], r.GetValue(b) ?? [],
                new RunCommand.Extras(r.GetValue(pcap), r.GetValue(fault), r.GetValue(noBuild), r.GetValue(v),
                    r.GetValue(debug), r.GetValue(mem), r.GetValue(cpus), r.GetValue(netns), r.GetValue(offload),
                    r.GetResult(gdb) is null ? null : r.GetValue(gdb) ?? "", r.GetValue(p), r.GetValue(f)), ct));
            root.Subcommands.Add(command);
        }
        {
            var dir = appDir();
            var command = new Command("clean", "Remove the app's build outputs (dist/, bin/, obj/); its configuration stays.") { dir };
            command.SetAction(r => CleanCommand.Execute(r.GetValue(dir)));
            root.Subcommands.Add(command);
        }
        {
            var t = new Option<string>("--target", "-t") { Description = "qemu or firecracker.", HelpName = "target", Required = true };
            var executable = new Option<string>("--executable") { Description = "The app as published with NativeAOT for that target.", HelpName = "PATH", Required = true };
            var kernel = new Option<string>("--kernel-dir") { Description = "A directory with the kernel's bzImage and vmlinux.", HelpName = "DIR", Required = true };
            var output = new Option<string>("--out") { Description = "The image folder to write.", HelpName = "DIR", Required = true };
            var debug = new Option<bool>("--debug") { Description = "Launch files with the kernel's messages on and the runtime's debug logs." };
            var f = file();
            var command = new Command("image", "Pack a published microVM app and a kernel into an image folder (what Unisharp.Sdk runs after dotnet publish).")
            { t, executable, kernel, output, f, debug };
            command.SetAction(r => ImageCommand.Execute(r.GetValue(t)!, r.GetValue(executable)!, r.GetValue(kernel)!, r.GetValue(output)!, r.GetValue(debug),
                r.GetValue(f) ?? []));
            root.Subcommands.Add(command);
        }
        {
            var command = new Command("targets", "List the targets and which this version can build.");
            command.SetAction(_ => TargetsCommand.Execute());
            root.Subcommands.Add(command);
        }
        root.Subcommands.Add(Bench.BenchCommand.Create());
        return root;
    }
}
