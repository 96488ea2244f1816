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

    /// <summary>
    /// Copies the kernel and packs <paramref name="executable"/> with its libraries, and <paramref name="files"/> at their
    /// paths in the guest, into the initrd; returns the initrd's size.
    /// </summary>
    public long Build(string executable, KernelImage kernel, IReadOnlyList<ImageFile>? files = null)
    {
        System.IO.Directory.CreateDirectory(Directory);
        // Both targets boot the vmlinux through PVH: nothing for the guest to unpack before the kernel starts.
        File.Copy(kernel.Vmlinux, Kernel, overwrite: true);
        CopySymbols(executable);
        // LZ4: a little bigger than gzip, but the kernel unpacks it in well under half the time (most of a TCG boot's /init wait).
        return Pack(executable, files);
    }

    /// <summary>Packs the initrd alone, the kernel and symbols being in place already (only the <paramref name="files"/> changed).</summary>
    public long Pack(string executable, IReadOnlyList<ImageFile>? files)
    {
        var initramfs = new InitramfsBuilder(executable) { Format = InitramfsFormat.Lz4 };
        foreach (var file in files ?? [])
        {
            // Read by the app only, which runs as root; a private key stays unreadable to anyone else (there is no one).
            initramfs.AddFile(file.GuestPath, file.HostPath, permissions: 0x180 /* 0600 */);
        }
        return initramfs.WriteTo(Initrd);
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

    /// <summary>
    /// A POSIX shell script that starts the image as <c>unisharp run</c> does, minus the TAP's namespace. Its own arguments:
    /// <c>--net tap:NAME|none</c> (the network card), <c>--cmdline</c> (print the kernel command line), and after <c>--</c>
    /// the app's boot arguments, which follow the image's own in the same <c>unisharp.args=</c> word.
    /// </summary>
    private string LaunchScript(MicroVmLaunch launch)
    {
        // The script's own paths, the accelerator and the TSC frequency are decided where it runs; so are the network
        // card and the app's arguments.
        var portable = launch with
        {
            Kernel = "$here/" + KernelName, Initrd = "$here/" + InitrdName, Accelerator = "$accel", TscKhz = null, NoApicTimer = false,
            Tap = null,
        };
        string kernelWords = string.Join(' ', (launch with { TscKhz = null, NoApicTimer = false }).KernelWords());
        string net = launch.Tap is null ? "none" : "tap:" + launch.Tap;
        var text = new StringBuilder();
        text.Append("#!/bin/sh\n")
            .Append($"# Boots this {Target} image under QEMU, as 'unisharp run -t {Target}' does. The app's exit code becomes the script's.\n")
            .Append("# Usage: launch.sh [--net tap:NAME|none] [--cmdline] [-- APP-ARGUMENTS...]\n")
            .Append($"#   --net tap:NAME  the guest's network card (eth0) on the host's TAP interface NAME [default: {net}]. The TAP\n")
            .Append("#                   must exist, best in a network namespace: ip netns add demo; ip -n demo tuntap add NAME mode tap;\n")
            .Append("#                   ip -n demo addr add 198.18.0.1/24 dev NAME; ip -n demo link set NAME up;\n")
            .Append("#                   ip netns exec demo ./launch.sh --net tap:NAME ('unisharp run --net' does all that itself).\n")
            .Append("#   --cmdline       print the kernel command line and exit.\n")
            .Append("#   -- ARGS         the app's boot arguments (e.g. -- --port=8080), after the image's own.\n")
            .Append("# ACCEL=kvm where KVM really runs guests; TCG otherwise (the default).\n");
        if (Target == "firecracker")
        {
            text.Append($"# QEMU's microvm machine stands in for Firecracker here; on Firecracker itself: firecracker --no-api --config-file {FirecrackerConfigName}\n");
        }
        text.Append("here=\"$(cd \"$(dirname \"$0\")\" && pwd)\"\n")
            .Append("accel=\"${ACCEL:-tcg}\"\n")
            .Append($"net={ShellQuote(net)}\n")
            .Append("cmdline=\n")
            .Append("while [ $# -gt 0 ]; do\n")
            .Append("  case \"$1\" in\n")
            .Append("    --net) [ $# -ge 2 ] || { echo \"launch.sh: --net needs tap:NAME or none\" >&2; exit 2; }; net=\"$2\"; shift 2 ;;\n")
            .Append("    --net=*) net=\"${1#--net=}\"; shift ;;\n")
            .Append("    --cmdline) cmdline=1; shift ;;\n")
            .Append("    -h|--help) sed -n '2,/^# ACCEL/p' \"$0\" | cut -c3-; exit 0 ;;\n")
            .Append("    --) shift; break ;;\n")
            .Append("    *) echo \"launch.sh: unknown option '$1': the app's arguments go after '--' (launch.sh --help)\" >&2; exit 2 ;;\n")
            .Append("  esac\n")
            .Append("done\n")
            .Append("case \"$net\" in\n")
            .Append("  none) tap= ;;\n")
            .Append("  tap:?*) tap=\"${net#tap:}\" ;;\n")
            .Append("  *) echo \"launch.sh: --net takes tap:NAME or none, not '$net'\" >&2; exit 2 ;;\n")
            .Append("esac\n")
            .Append($"kernel_words={ShellQuote(kernelWords)}\n")
            .Append("# Under TCG the kernel calibrates the TSC against the PIT, slowly and, on microvm, now and then forever: tell it the rate.\n")
            .Append("tsc=\"$(awk -F: '/^cpu MHz/ { printf \"%d\", $2 * 1000; exit }' /proc/cpuinfo)\"\n")
            .Append("[ \"$accel\" = tcg ] && [ -n \"$tsc\" ] && kernel_words=\"$kernel_words tsc_early_khz=$tsc\"\n")
            .Append("# TCG's CPU has no TSC-deadline timer, so the kernel would first time the APIC timer against the PIT: let the PIT tick.\n")
            .Append("[ \"$accel\" = tcg ] && kernel_words=\"$kernel_words noapictimer\"\n")
            .Append("# The app's arguments, the image's first, in one word: unisharp.args=ARG,ARG,... with each argument's spaces, quotes,\n")
            .Append("# '%', ',' and bytes outside printable ASCII written %XX, which the guest runtime decodes.\n")
            .Append("set --");
        foreach (string argument in launch.AppArguments())
        {
            text.Append(' ').Append(ShellQuote(argument));
        }
        text.Append(" \"$@\"\n")
            .Append("app_words=\n")
            .Append("for argument in \"$@\"; do\n")
            .Append("  word=\"$(printf '%s' \"$argument\" | od -An -v -tu1 | awk '{ for (i = 1; i <= NF; i++) { b = $i + 0; if (b > 32 && b < 127 && b != 34 && b != 37 && b != 44) printf \"%c\", b; else printf \"%%%02X\", b } }')\"\n")
            .Append("  if [ -z \"$app_words\" ]; then app_words=\"unisharp.args=$word\"; else app_words=\"$app_words,$word\"; fi\n")
            .Append("done\n")
            .Append("[ -n \"$app_words\" ] && kernel_words=\"$kernel_words $app_words\"\n")
            .Append($"if [ ${{#kernel_words}} -gt {MicroVmLaunch.MaxCommandLine} ]; then\n")
            .Append($"  echo \"launch.sh: the kernel command line would be ${{#kernel_words}} bytes, over the {MicroVmLaunch.MaxCommandLine} the kernel keeps: shorten the app's arguments\" >&2\n")
            .Append("  exit 2\n")
            .Append("fi\n")
            .Append("[ -n \"$cmdline\" ] && { printf '%s\\n' \"$kernel_words\"; exit 0; }\n")
            .Append("set --");
        var arguments = portable.QemuArguments();
        for (int i = 0; i < arguments.Count; i++)
        {
            string argument = arguments[i];
            string shell = i > 0 && arguments[i - 1] == "-append" ? "\"$kernel_words\"" : Shell(argument);
            text.Append(argument.StartsWith('-') ? " \\\n  " : " ").Append(shell);
        }
        text.Append('\n')
            .Append("[ -n \"$tap\" ] && set -- \"$@\"");
        foreach (string argument in portable.NetworkArguments("$tap"))
        {
            text.Append(' ').Append(Shell(argument));
        }
        text.Append('\n')
            .Append("qemu-system-x86_64 \"$@\"\n")
            .Append("status=$?\n")
            .Append("# isa-debug-exit: QEMU exits with (code << 1) | 1 when the guest hands over its exit code.\n")
            .Append("[ $((status & 1)) -eq 1 ] && exit $((status >> 1))\n")
            .Append("exit \"$status\"\n");
        return text.ToString();
    }

    /// <summary>A QEMU argument in the script: in double quotes when it names a shell variable, else quoted as needed.</summary>
    private static string Shell(string argument) =>
        argument.Contains('$', StringComparison.Ordinal) ? $"\"{argument}\"" : ShellQuote(argument);

    internal static string ShellQuote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@%+".Contains(c, StringComparison.Ordinal))
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
