using System.Diagnostics;
using Unisharp.Cli.Images;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// examples/echo published with NativeAOT for the qemu and the firecracker target and packed into initramfs
/// images, each on first use (UNISHARP_MICROVM_ECHO_QEMU and UNISHARP_MICROVM_ECHO_FIRECRACKER may name
/// already published executables to skip a publish).
/// </summary>
public sealed class EchoImageFixture
{
    private readonly Lazy<string> _qemu = new(() => Build("qemu"));
    private readonly Lazy<string> _firecracker = new(() => Build("firecracker"));

    /// <summary>The initramfs (gzip) of echo built for <paramref name="target"/>, qemu or firecracker.</summary>
    public string Initrd(string target) => target == "qemu" ? _qemu.Value : _firecracker.Value;

    private static string Build(string target)
    {
        string work = Path.Combine(Path.GetTempPath(), "unisharp-microvm-tests");
        Directory.CreateDirectory(work);
        string variable = $"UNISHARP_MICROVM_ECHO_{target.ToUpperInvariant()}";
        string executable = Environment.GetEnvironmentVariable(variable) is { Length: > 0 } given ? given : Publish(work, target);
        string initrd = Path.Combine(work, $"echo-{target}-initrd.gz");
        new InitramfsBuilder(executable).WriteTo(initrd);
        return initrd;
    }

    private static string Publish(string work, string target)
    {
        string output = Path.Combine(work, $"echo-{target}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[]
        {
            "publish", Path.Combine(RepositoryPaths.Root, "examples", "echo", "echo.csproj"),
            "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", $"-p:UnisharpTarget={target}",
            "-o", output, "--artifacts-path", Path.Combine(work, $"artifacts-{target}"), "--nologo",
        })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"publishing examples/echo for {target} failed:\n{stdout}\n{stderr.Result}");
        }
        return Path.Combine(output, "echo");
    }
}
