using System.Diagnostics;
using System.Text;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>Boots a kernel and initramfs under QEMU (TCG) with the serial console on stdout, and waits for power-off.</summary>
internal static class QemuBoot
{
    public sealed record Result(int ExitStatus, string Output, TimeSpan? FirstLineAfter, TimeSpan Elapsed, bool TimedOut)
    {
        /// <summary>The guest's exit code, when it wrote one to isa-debug-exit (QEMU then exits with (code &lt;&lt; 1) | 1).</summary>
        public int? GuestExitCode => (ExitStatus & 1) == 1 ? ExitStatus >> 1 : null;
    }

    /// <param name="machine">
    /// <c>pc</c> or <c>microvm</c>. The vmlinux boots through PVH on both; on <c>pc</c> from qboot, as the <c>qemu</c>
    /// target runs it (<see cref="QemuGuest.PcFirmware"/>). A bzImage on <c>pc</c> boots from SeaBIOS, QEMU's default.
    /// </param>
    /// <param name="firstLine">The text whose first appearance on the console is timed.</param>
    public static async Task<Result> RunAsync(string machine, string kernel, string initrd, string append, string firstLine, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("qemu-system-x86_64")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in new[]
        {
            "-M", machine, "-accel", "tcg", "-m", "256", "-smp", "1", "-nographic", "-no-reboot", "-nodefaults",
            "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-kernel", kernel, "-initrd", initrd, "-append", append,
        }.Concat(QemuGuest.PcFirmware(machine, kernel)))
        {
            start.ArgumentList.Add(argument);
        }
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        TimeSpan? first = null;
        var stderr = process.StandardError.ReadToEndAsync();
        var reading = Task.Run(async () =>
        {
            char[] buffer = new char[4096];
            int n;
            while ((n = await process.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (output)
                {
                    output.Append(buffer, 0, n);
                    if (first is null && output.ToString().Contains(firstLine, StringComparison.Ordinal))
                    {
                        first = clock.Elapsed;
                    }
                }
            }
        });
        using var cts = new CancellationTokenSource(timeout);
        bool timedOut = false;
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        await reading;
        string errors = await stderr;
        string text;
        lock (output)
        {
            text = output.ToString() + errors;
        }
        return new Result(process.ExitCode, text, first, clock.Elapsed, timedOut);
    }
}
