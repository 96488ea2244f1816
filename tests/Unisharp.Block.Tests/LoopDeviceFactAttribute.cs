using System.Diagnostics;

namespace Unisharp.Block.Tests;

/// <summary>
/// A test that needs Linux loop devices (root, /dev/loop-control, losetup): skipped with the reason when
/// this machine has none, so a missing loop device never looks like a pass.
/// </summary>
public sealed class LoopDeviceFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> s_missing = new(FindMissing);

    public LoopDeviceFactAttribute()
    {
        if (s_missing.Value is { } reason)
        {
            Skip = $"loop devices are not available here: {reason}";
        }
    }

    private static string? FindMissing()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not Linux";
        }
        if (!Environment.IsPrivilegedProcess)
        {
            return "not running as root";
        }
        if (!File.Exists("/dev/loop-control"))
        {
            return "no /dev/loop-control (loop module not loaded?)";
        }
        try
        {
            var (code, output) = LoopDevice.Run("losetup", "--version");
            return code == 0 ? null : $"losetup failed: {output}";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return $"no losetup ({e.Message})";
        }
    }
}

/// <summary>A loop device over a file, detached on dispose.</summary>
internal sealed class LoopDevice : IDisposable
{
    private LoopDevice(string path) => Path = path;

    public string Path { get; }

    public static LoopDevice Attach(string file, int sectorSize)
    {
        // Another process may take the free device losetup found before it binds it: try again.
        string output = "";
        for (int attempt = 0; attempt < 5; attempt++)
        {
            (int code, output) = Run("losetup", $"--find --show --direct-io=on --sector-size {sectorSize} {file}");
            if (code == 0)
            {
                return new LoopDevice(output.Trim());
            }
            Thread.Sleep(100);
        }
        throw new InvalidOperationException($"losetup failed: {output}");
    }

    public void Dispose()
    {
        var (code, output) = Run("losetup", $"-d {Path}");
        if (code != 0)
        {
            throw new InvalidOperationException($"losetup -d {Path} failed: {output}");
        }
    }

    public static (int Code, string Output) Run(string program, string arguments)
    {
        var start = new ProcessStartInfo(program, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }
}
