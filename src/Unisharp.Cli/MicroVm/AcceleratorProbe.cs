using System.Diagnostics;
using System.Text;

namespace Unisharp.Cli.MicroVm;

/// <summary>
/// Chooses QEMU's accelerator: KVM only when it really runs a guest, else TCG. /dev/kvm can open and create
/// VMs on hosts where guests then never run (as on these machines), so the probe boots our kernel with no
/// initramfs: it panics at once ("no root") and, with <c>panic=-1</c> and <c>-no-reboot</c>, QEMU exits. A
/// guest that is still running after a few seconds means KVM does not work. The answer is kept per host boot.
/// </summary>
internal static class AcceleratorProbe
{
    /// <summary>Forces the choice: <c>kvm</c> or <c>tcg</c>.</summary>
    public const string Variable = "UNISHARP_ACCEL";

    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(6);

    /// <summary>Returns <c>kvm</c> or <c>tcg</c>, and says why when it falls back to TCG.</summary>
    /// <param name="machine">QEMU's machine for <paramref name="kernel"/>: <c>pc</c> or <c>microvm</c> (the vmlinux boots on both through PVH).</param>
    public static async Task<string> ChooseAsync(string qemu, string machine, string kernel, CancellationToken cancellationToken)
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } forced)
        {
            return forced is "kvm" or "tcg" ? forced : throw new CliException($"{Variable}={forced}: expected kvm or tcg", CliException.Usage);
        }
        if (!File.Exists("/dev/kvm"))
        {
            Progress.Info("no /dev/kvm: running the VM under TCG (emulation, slower)");
            return "tcg";
        }
        string cache = CachePath(qemu);
        bool works;
        if (File.Exists(cache))
        {
            works = File.ReadAllText(cache).Trim() == "kvm";
        }
        else
        {
            works = await ProbeAsync(qemu, machine, kernel, cancellationToken).ConfigureAwait(false);
            Directory.CreateDirectory(Path.GetDirectoryName(cache)!);
            File.WriteAllText(cache, works ? "kvm\n" : "tcg\n");
        }
        if (!works)
        {
            Progress.Info($"KVM opens but does not run guests on this host (probed once per boot): running the VM under TCG (emulation, slower); {Variable}=kvm forces KVM");
        }
        return works ? "kvm" : "tcg";
    }

    private static async Task<bool> ProbeAsync(string qemu, string machine, string kernel, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(qemu)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["-M", machine, "-accel", "kvm", "-m", "64", "-display", "none", "-nodefaults", "-no-user-config",
            "-no-reboot", "-serial", "stdio", "-kernel", kernel, "-append", "console=ttyS0 panic=-1"])
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new CliException($"cannot start {qemu}");
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return false;
        }
        output.Append(await stdout.ConfigureAwait(false)).Append(await stderr.ConfigureAwait(false));
        // The kernel ran if it got as far as its panic (or printed anything at all of its own).
        return output.ToString().Contains("Kernel panic", StringComparison.Ordinal) || output.ToString().Contains("Linux version", StringComparison.Ordinal);
    }

    /// <summary>One answer per host boot and QEMU binary.</summary>
    private static string CachePath(string qemu)
    {
        string boot = File.Exists("/proc/sys/kernel/random/boot_id") ? File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim() : "unknown";
        string key = $"{boot}-{File.GetLastWriteTimeUtc(qemu).Ticks}";
        string root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "unisharp", "accel", key);
    }
}
