using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Unisharp.Cli.Building;
using Unisharp.Cli.Images;

namespace Unisharp.Cli.MicroVm;

/// <summary>
/// <c>unisharp run --gdb[=PORT]</c>: QEMU's gdbstub on the loopback, and the gdb command that attaches to it with the
/// kernel's and the app's symbols. The app is /init, a position-independent executable run by the kernel as PID 1;
/// with <c>norandmaps</c> on the command line the kernel loads such an executable (one with an interpreter) at
/// <see cref="AppLoadBase"/>, so gdb gets the app's symbols at that offset before the app even exists.
/// </summary>
internal static class GdbSession
{
    /// <summary>
    /// Where x86_64 Linux maps a PIE with an interpreter when user space is not randomized: ELF_ET_DYN_BASE, two thirds
    /// of the 47-bit address space, page-aligned. The app's link-time addresses start at 0, so this is gdb's offset.
    /// </summary>
    public const ulong AppLoadBase = 0x555555554000;

    /// <summary>The port of <c>--gdb</c>'s value: <see cref="MicroVmLaunch.DefaultGdbPort"/> when none is given.</summary>
    /// <exception cref="CliException">Not a TCP port number.</exception>
    public static int ParsePort(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return MicroVmLaunch.DefaultGdbPort;
        }
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and <= 65535
            ? port
            : throw new CliException($"invalid --gdb '{value}': a TCP port, 1 to 65535", CliException.Usage);
    }

    /// <summary>Says so before a long build and boot when the port is taken on the loopback (QEMU would fail late with a terser message).</summary>
    /// <exception cref="CliException">Something listens on 127.0.0.1 at <paramref name="port"/>.</exception>
    public static void CheckPortFree(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            throw PortInUse(port);
        }
    }

    public static CliException PortInUse(int port) => new($"--gdb: port {port} on 127.0.0.1 is in use: choose another with --gdb=PORT");

    /// <summary>
    /// The kernel's vmlinux with symbols for <paramref name="image"/>: the current kernel build's, when its build ID is
    /// the image's kernel's; else null (an image from an older kernel, or a kernel directory without one), said once.
    /// </summary>
    public static async Task<string?> KernelSymbolsAsync(MicroVmImage image, CancellationToken cancellationToken)
    {
        var kernel = await KernelLocator.FindAsync(cancellationToken).ConfigureAwait(false);
        string full = kernel.VmlinuxWithSymbols;
        if (File.Exists(full) && ElfBuildId.Read(full) is { } id && id == ElfBuildId.Read(image.Kernel))
        {
            return full;
        }
        Progress.Info($"no vmlinux with symbols for {AppBuilder.Relative(image.Kernel)} (its build's vmlinux.full): gdb gets the app's symbols only");
        return null;
    }

    /// <summary>
    /// Once QEMU's gdbstub listens (or QEMU has ended, or half a minute has gone), prints the gdb command for
    /// <paramref name="image"/> and how to break in the app <paramref name="appName"/>. With <paramref name="forwarder"/>
    /// the stub is its Unix socket, reached through it.
    /// </summary>
    public static async Task AnnounceAsync(Process qemu, int port, GdbForwarder? forwarder, MicroVmImage image, string? kernelSymbols, string appName)
    {
        // Not cancellable: QEMU is running, and only the runner that waits for it after this stops it on a signal.
        var clock = Stopwatch.StartNew();
        while (!qemu.HasExited && !(forwarder is null ? IsListening(port) : File.Exists(forwarder.SocketPath)) && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
        }
        if (qemu.HasExited)
        {
            return;
        }
        Progress.Info($"the VM is stopped before its first instruction, waiting for gdb on 127.0.0.1:{port}");
        Progress.Info("attach gdb with: " + Command(kernelSymbols, image.Symbols, port));
        Progress.Info($"then break in the app with a hardware breakpoint (its pages are not mapped yet), e.g. 'hbreak {appName}_Program___Main__', " +
            "and 'continue'; gdb's 'kill' ends the VM");
    }

    /// <summary>True when a socket listens on 127.0.0.1 at <paramref name="port"/> (in our network namespace), from /proc/net/tcp.</summary>
    private static bool IsListening(int port)
    {
        // Lines like "0: 0100007F:04D2 00000000:0000 0A ...": the local address as the kernel stores it (little-endian
        // here), the port in hex, the state (0A: listening).
        string local = $"0100007F:{port:X4}";
        try
        {
            return File.ReadLines("/proc/net/tcp").Skip(1)
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Any(fields => fields.Length > 3 && fields[1] == local && fields[3] == "0A");
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// The shell command that attaches gdb: the kernel's vmlinux with symbols as the program when there is one, the
    /// gdbstub as the remote target, the app's symbols at <see cref="AppLoadBase"/> (confirmation off for that one command).
    /// </summary>
    public static string Command(string? vmlinux, string appSymbols, int port)
    {
        string[] commands =
        [
            $"target remote 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            "set confirm off",
            $"add-symbol-file {GdbQuote(Path.GetFullPath(appSymbols))} -o 0x{AppLoadBase:x}",
            "set confirm on",
        ];
        return "gdb -q" + (vmlinux is null ? "" : " " + MicroVmImage.ShellQuote(Path.GetFullPath(vmlinux))) + string.Concat(commands.Select(c => " -ex " + MicroVmImage.ShellQuote(c)));
    }

    /// <summary>A path as gdb's own argument splitting reads it: in double quotes when it holds a space.</summary>
    private static string GdbQuote(string path) =>
        path.Contains(' ', StringComparison.Ordinal) ? "\"" + path.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"" : path;
}
