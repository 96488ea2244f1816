using System.Diagnostics;
using Unisharp.Cli.Images;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// examples/hello published with NativeAOT for the qemu target and packed into an initramfs, once for all boot
/// tests (UNISHARP_MICROVM_HELLO may name an already published executable to skip the publish).
/// </summary>
public sealed class HelloImageFixture
{
    private static readonly string s_work = Path.Combine(Path.GetTempPath(), "unisharp-microvm-tests");
    private readonly Lazy<string> _executable = new(Executable);
    private readonly Lazy<string> _initrd;
    private readonly Lazy<string> _lz4Initrd;

    public HelloImageFixture()
    {
        _initrd = new(() => Build(InitramfsFormat.Gzip, "hello-initrd.gz"));
        _lz4Initrd = new(() => Build(InitramfsFormat.Lz4, "hello-initrd.lz4"));
    }

    /// <summary>The initramfs image (gzip), built on first use.</summary>
    public string Initrd => _initrd.Value;

    /// <summary>The same initramfs compressed with LZ4 (our own compressor), built on first use.</summary>
    public string Lz4Initrd => _lz4Initrd.Value;

    private static string Executable()
    {
        Directory.CreateDirectory(s_work);
        return Environment.GetEnvironmentVariable("UNISHARP_MICROVM_HELLO") is { Length: > 0 } given ? given : Publish(s_work);
    }

    private string Build(InitramfsFormat format, string name)
    {
        string initrd = Path.Combine(s_work, name);
        new InitramfsBuilder(_executable.Value) { Format = format }.WriteTo(initrd);
        return initrd;
    }

    private static string Publish(string work)
    {
        string output = Path.Combine(work, "hello-qemu");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[]
        {
            "publish", Path.Combine(RepositoryPaths.Root, "examples", "hello", "hello.csproj"),
            "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-p:UnisharpTarget=qemu",
            "-o", output, "--artifacts-path", Path.Combine(work, "artifacts"), "--nologo",
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
            throw new InvalidOperationException($"publishing examples/hello for qemu failed:\n{stdout}\n{stderr.Result}");
        }
        return Path.Combine(output, "hello");
    }
}
