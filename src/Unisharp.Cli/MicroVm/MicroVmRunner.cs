using System.Diagnostics;
using System.Runtime.InteropServices;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.MicroVm;

/// <summary>
/// Runs a microVM under QEMU in the foreground: the guest's serial console on our standard output, QEMU's own
/// messages on standard error, the app's exit code (from isa-debug-exit) as the result. SIGINT and SIGTERM stop
/// QEMU; the caller then removes the network namespace.
/// </summary>
internal static class MicroVmRunner
{
    public const string QemuVariable = "UNISHARP_QEMU";

    /// <summary>What QEMU says when gdb's <c>kill</c> ends it (exit status 0, no code from the guest).</summary>
    private const string GdbKillMessage = "QEMU: Terminated via GDBstub";

    /// <summary>QEMU's program: <c>UNISHARP_QEMU</c> when set, else qemu-system-x86_64 on PATH (installed when root).</summary>
    public static async Task<string> FindQemuAsync(CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable(QemuVariable) is { Length: > 0 } given)
        {
            return File.Exists(given)
                ? given
                : throw new CliException($"{QemuVariable}={given} does not exist: unset it to use qemu-system-x86_64 (apt-get install qemu-system-x86)");
        }
        await HostPackages.EnsureAsync([HostPackages.Command("qemu-system-x86_64", "qemu-system-x86")], Progress.Info, cancellationToken).ConfigureAwait(false);
        return ProcessRunner.Which("qemu-system-x86_64")!;
    }

    /// <summary>
    /// True when QEMU will find <paramref name="firmware"/> by name: in the data directories it searches, which are
    /// relative to its own binary (<c>BINDIR/../share/qemu</c> and <c>BINDIR/../share/seabios</c>).
    /// </summary>
    public static bool HasFirmware(string qemu, string firmware)
    {
        var binaries = new List<string> { Path.GetFullPath(qemu) };
        if (File.ResolveLinkTarget(qemu, returnFinalTarget: true) is { } target)
        {
            binaries.Add(target.FullName);
        }
        return binaries.Select(Path.GetDirectoryName)
            .SelectMany(bin => (string[])[Path.Combine(bin!, "..", "share", "qemu"), Path.Combine(bin!, "..", "share", "seabios")])
            .Any(directory => File.Exists(Path.Combine(directory, firmware)));
    }

    /// <summary>
    /// Runs <paramref name="launch"/> to its end; returns the guest app's exit code (130/143 when stopped by a signal).
    /// <paramref name="started"/>, when given, runs once QEMU has started (its standard error already read).
    /// </summary>
    public static async Task<int> RunAsync(string qemu, MicroVmLaunch launch, GuestNetwork? network, string? pcap, bool verbose,
        Func<Process, Task>? started = null)
    {
        var command = new List<string>();
        if (network is not null)
        {
            command.AddRange(network.ExecPrefix);
        }
        command.Add(qemu);
        command.AddRange(launch.QemuArguments());
        if (verbose)
        {
            Progress.Info("starting " + string.Join(' ', command.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a)));
        }

        using var capture = pcap is not null && network is not null ? await StartCaptureAsync(network, pcap).ConfigureAwait(false) : null;
        // The console is ours: the guest's output goes straight to our standard output. Standard input stays a
        // pipe we never write, so QEMU leaves the terminal alone and Ctrl-C reaches it and us as a signal.
        var start = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new CliException($"cannot start {qemu}");
        var qemuErrors = new List<string>();
        bool killedFromGdb = false;
        var errors = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.Contains(GdbKillMessage, StringComparison.Ordinal))
                {
                    killedFromGdb = true;
                }
                else if (line.Contains("qemu-system-", StringComparison.Ordinal) && !line.Contains("terminating on signal", StringComparison.Ordinal)
                    && !line.Contains("warning:", StringComparison.Ordinal))
                {
                    lock (qemuErrors)
                    {
                        qemuErrors.Add(line);
                    }
                }
                await Console.Error.WriteLineAsync(line).ConfigureAwait(false);
            }
        });

        if (started is not null)
        {
            await started(process).ConfigureAwait(false);
        }

        int stoppedBy = 0;
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            if (Interlocked.CompareExchange(ref stoppedBy, (int)context.Signal == (int)PosixSignal.SIGINT ? ProcessSignal.Interrupt : ProcessSignal.Terminate, 0) == 0)
            {
                // QEMU ends cleanly on SIGTERM (a terminal's Ctrl-C has sent it SIGINT already).
                ProcessSignal.Send(process.Id, ProcessSignal.Terminate);
            }
        }
        using (PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop))
        using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop))
        {
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        await errors.ConfigureAwait(false);
        await Console.Out.FlushAsync().ConfigureAwait(false);

        int status = process.ExitCode;
        if (stoppedBy != 0)
        {
            Progress.Info($"stopped the VM ({(stoppedBy == ProcessSignal.Interrupt ? "SIGINT" : "SIGTERM")})");
            return 128 + stoppedBy;
        }
        if (killedFromGdb)
        {
            // As a process killed under gdb: 128 + SIGKILL.
            Progress.Info("gdb killed the VM");
            return 137;
        }
        // QEMU's own failures (a missing file, a TAP it cannot open) exit with 1, as a guest's exit code 0 does: its message tells them apart.
        if (qemuErrors.Count > 0 && (status == 1 || (status & 1) == 0))
        {
            throw new CliException($"QEMU failed (exit {status}): {qemuErrors[0]}");
        }
        if ((status & 1) == 1)
        {
            // isa-debug-exit: QEMU's status is (code << 1) | 1.
            return status >> 1;
        }
        if (status == 0)
        {
            Progress.Info("the guest stopped (reboot or power-off) without handing over an exit code: taking 0");
            return 0;
        }
        throw new CliException($"QEMU failed (exit {status})");
    }

    /// <summary>tcpdump on the host side of the TAP, writing every frame to <paramref name="path"/> as it comes.</summary>
    private static async Task<Capture> StartCaptureAsync(GuestNetwork network, string path)
    {
        if (ProcessRunner.Which("tcpdump") is null)
        {
            await HostPackages.EnsureAsync([HostPackages.Command("tcpdump", "tcpdump")], Progress.Info, CancellationToken.None).ConfigureAwait(false);
        }
        var start = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (string argument in network.ExecPrefix.Skip(1).Concat(["tcpdump", "-i", network.Tap, "--immediate-mode", "-U", "-s", "0", "-w", Path.GetFullPath(path)]))
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new CliException("cannot start tcpdump");
        // tcpdump says "listening on TAP" once it captures; frames before that would be lost.
        var ready = new TaskCompletionSource();
        _ = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.Contains("listening on", StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            }
            ready.TrySetResult();
        });
        await Task.WhenAny(ready.Task, Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
        if (process.HasExited)
        {
            throw new CliException($"tcpdump on {network.Tap} stopped at once (exit {process.ExitCode})");
        }
        Progress.Info($"capturing the frames on the host side of {network.Tap} into {path} (tcpdump)");
        return new Capture(process);
    }

    /// <summary>A running tcpdump, stopped with SIGINT so that it closes the file properly.</summary>
    private sealed class Capture(Process process) : IDisposable
    {
        public void Dispose()
        {
            if (!process.HasExited)
            {
                ProcessSignal.Send(process.Id, ProcessSignal.Interrupt);
                if (!process.WaitForExit(TimeSpan.FromSeconds(5)))
                {
                    process.Kill(entireProcessTree: true);
                }
            }
            process.Dispose();
        }
    }
}
