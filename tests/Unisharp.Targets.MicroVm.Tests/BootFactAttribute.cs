using System.Diagnostics;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// A test that boots a microVM: needs qemu-system-x86_64 and our kernel, built by kernel/build-kernel.sh
/// (or UNISHARP_KERNEL_DIR naming a directory with bzImage and vmlinux); skipped, saying which, without them.
/// </summary>
public sealed class BootFactAttribute : FactAttribute
{
    public BootFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformationX64() is false)
        {
            Skip = "boot tests need an x86_64 Linux host";
        }
        else if (RepositoryPaths.FindTool("qemu-system-x86_64") is null)
        {
            Skip = "boot tests need QEMU (apt-get install qemu-system-x86)";
        }
        else if (KernelDirectory.Value is null)
        {
            Skip = "boot tests need our kernel: run kernel/build-kernel.sh (or set UNISHARP_KERNEL_DIR)";
        }
    }

    private static bool RuntimeInformationX64() =>
        System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64;

    /// <summary>The directory with bzImage and vmlinux, or null when the kernel is not built.</summary>
    public static readonly Lazy<string?> KernelDirectory = new(Find);

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("UNISHARP_KERNEL_DIR") is { Length: > 0 } given)
        {
            return File.Exists(Path.Combine(given, "bzImage")) && File.Exists(Path.Combine(given, "vmlinux")) ? given : null;
        }
        try
        {
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(Path.Combine(RepositoryPaths.Root, "kernel", "build-kernel.sh"));
            start.ArgumentList.Add("--cached");
            using var process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd().Trim();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 && Directory.Exists(output) ? output : null;
        }
        catch (Exception e) when (e is InvalidOperationException or TypeInitializationException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
