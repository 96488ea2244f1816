using System.Text;
using Unisharp.Cli.Images;

namespace Unisharp.Cli.MicroVm;

/// <summary>
/// The image folder of a microVM target, <c>dist/NAME.qemu/</c> or <c>dist/NAME.fc/</c>: the kernel
/// (<c>vmlinux</c>, booted through its PVH entry point on both machines), the <c>initrd</c> (the app as /init and the libraries it needs), the
/// kernel command line in <c>cmdline</c>, and <c>launch.sh</c> with the exact QEMU command; for firecracker
/// also <c>firecracker.json</c> for <c>firecracker --config-file</c>.
/// </summary>
internal sealed class MicroVmImage(string directory, string target)
{
    /// <summary>Both targets' kernel file: the vmlinux, booted through its PVH entry point.</summary>
    public const string KernelName = "vmlinux";
    public const string InitrdName = "initrd";
    public const string CommandLineName = "cmdline";
    public const string LaunchScriptName = "launch.sh";
    public const string FirecrackerConfigName = "firecracker.json";

    /// <summary>The symbols of the app, /init in the guest: NativeAOT's <c>NAME.dbg</c> (or the executable itself when not stripped), for gdb.</summary>
    public const string SymbolsName = "init.dbg";

    public string Directory { get; } = directory;

    public string Target { get; } = target;

    public string Kernel => Path.Combine(Directory, KernelName);

    public string Initrd => Path.Combine(Directory, InitrdName);

    public bool Exists => File.Exists(Kernel) && File.Exists(Initrd);

    public string Symbols => Path.Combine(Directory, SymbolsName);

    /// <summary>Copies the kernel and packs <paramref name="executable"/> with its libraries into the initrd; returns the initrd's size.</summary>
    public long Build(string executable, KernelImage kernel)
    {
        System.IO.Directory.CreateDirectory(Directory);
        // Both targets boot the vmlinux through PVH: nothing for the guest to unpack before the kernel starts.
        File.Copy(kernel.Vmlinux, Kernel, overwrite: true);
        CopySymbols(executable);
        // LZ4: a little bigger than gzip, but the kernel unpacks it in well under half the time (most of a TCG boot's /init wait).
        return new InitramfsBuilder(executable) { Format = InitramfsFormat.Lz4 }.WriteTo(Initrd);
    }

    /// <summary>
    /// Copies the app's symbols beside the initrd as <see cref="SymbolsName"/>: the <c>.dbg</c> file NativeAOT strips them
    /// into, after checking that its build ID is the executable's, or the executable itself when it kept its symbols.
    /// </summary>
    private void CopySymbols(string executable)
    {
        string dbg = executable + ".dbg";
        if (!File.Exists(dbg))
        {
            File.Copy(executable, Symbols, overwrite: true);
            return;
        }
        string? built = ElfBuildId.Read(executable);
        string? symbols = ElfBuildId.Read(dbg);
        if (built != symbols)
        {
            throw new CliException($"{dbg} is not the symbol file of {executable}: build ID {symbols ?? "none"}, the executable's {built ?? "none"}");
        }
        File.Copy(dbg, Symbols, overwrite: true);
    }

    /// <summary>Writes <c>cmdline</c>, <c>launch.sh</c> and, for firecracker, <c>firecracker.json</c> for <paramref name="launch"/>.</summary>
    public void WriteLaunchFiles(MicroVmLaunch launch)
    {
        File.WriteAllText(Path.Combine(Directory, CommandLineName), launch.CommandLine() + "\n");
        string script = Path.Combine(Directory, LaunchScriptName);
        File.WriteAllText(script, LaunchScript(launch));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, (UnixFileMode)0x1ED /* 0755 */);
        }
        if (Target == "firecracker")
        {
            File.WriteAllText(Path.Combine(Directory, FirecrackerConfigName), FirecrackerConfig.For(launch).ToJson());
        }
    }

    /// <summary>A POSIX shell script that starts the image as <c>unisharp run</c> does, minus the TAP's namespace.</summary>
    private string LaunchScript(MicroVmLaunch launch)
    {
        // The script's own paths, the accelerator and the TSC frequency are decided where it runs.
        var portable = launch with { Kernel = "$here/" + KernelName, Initrd = "$here/" + InitrdName, Accelerator = "$accel", TscKhz = null, NoApicTimer = false };
        string kernelWords = string.Join(' ', portable.KernelWords());
        var text = new StringBuilder();
        text.Append("#!/bin/sh\n")
            .Append($"# Boots this {Target} image under QEMU, as 'unisharp run -t {Target}' does. The app's exit code becomes the script's.\n")
            .Append("# ACCEL=kvm where KVM really runs guests; TCG otherwise (the default).\n");
        if (launch.Tap is not null)
        {
            text.Append($"# The TAP interface {launch.Tap} must exist: ip tuntap add {launch.Tap} mode tap && ip link set {launch.Tap} up\n")
                .Append("# ('unisharp run' makes it in a network namespace of its own).\n");
        }
        if (Target == "firecracker")
        {
            text.Append($"# QEMU's microvm machine stands in for Firecracker here; on Firecracker itself: firecracker --no-api --config-file {FirecrackerConfigName}\n");
        }
        text.Append("here=\"$(cd \"$(dirname \"$0\")\" && pwd)\"\n")
            .Append("accel=\"${ACCEL:-tcg}\"\n")
            .Append($"kernel_words={ShellQuote(kernelWords)}\n")
            .Append($"app_words={ShellQuote(string.Join(' ', portable.AppWords()))}\n")
            .Append("# Under TCG the kernel calibrates the TSC against the PIT, slowly and, on microvm, now and then forever: tell it the rate.\n")
            .Append("tsc=\"$(awk -F: '/^cpu MHz/ { printf \"%d\", $2 * 1000; exit }' /proc/cpuinfo)\"\n")
            .Append("[ \"$accel\" = tcg ] && [ -n \"$tsc\" ] && kernel_words=\"$kernel_words tsc_early_khz=$tsc\"\n")
            .Append("# TCG's CPU has no TSC-deadline timer, so the kernel would first time the APIC timer against the PIT: let the PIT tick.\n")
            .Append("[ \"$accel\" = tcg ] && kernel_words=\"$kernel_words noapictimer\"\n")
            .Append("qemu-system-x86_64");
        var arguments = portable.QemuArguments();
        for (int i = 0; i < arguments.Count; i++)
        {
            string argument = arguments[i];
            string shell = i > 0 && arguments[i - 1] == "-append"
                ? "\"$kernel_words -- $app_words\""
                : argument.Contains('$', StringComparison.Ordinal) ? $"\"{argument}\"" : ShellQuote(argument);
            text.Append(argument.StartsWith('-') ? " \\\n  " : " ").Append(shell);
        }
        text.Append('\n')
            .Append("status=$?\n")
            .Append("# isa-debug-exit: QEMU exits with (code << 1) | 1 when the guest hands over its exit code.\n")
            .Append("[ $((status & 1)) -eq 1 ] && exit $((status >> 1))\n")
            .Append("exit \"$status\"\n");
        return text.ToString();
    }

    internal static string ShellQuote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@%+".Contains(c, StringComparison.Ordinal))
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
