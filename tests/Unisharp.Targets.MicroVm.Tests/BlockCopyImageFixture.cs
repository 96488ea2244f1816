using Unisharp.Cli.Images;
using Unisharp.Testing;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// examples/block-copy published with NativeAOT for the qemu target and packed into an initramfs, once for the
/// in-guest block tests (UNISHARP_MICROVM_BLOCK_COPY may name an already published executable to skip the publish).
/// </summary>
public sealed class BlockCopyImageFixture
{
    private readonly Lazy<string> _initrd = new(Build);

    /// <summary>The initramfs image (gzip), built on first use.</summary>
    public string Initrd => _initrd.Value;

    private static string Build()
    {
        string work = Path.Combine(Path.GetTempPath(), "unisharp-microvm-tests");
        Directory.CreateDirectory(work);
        string executable = Environment.GetEnvironmentVariable("UNISHARP_MICROVM_BLOCK_COPY") is { Length: > 0 } given
            ? given
            : PublishForQemu(work);
        string initrd = Path.Combine(work, "block-copy-initrd.gz");
        new InitramfsBuilder(executable).WriteTo(initrd);
        return initrd;
    }

    private static string PublishForQemu(string work)
    {
        string output = Path.Combine(work, "block-copy-qemu");
        string project = Path.Combine(RepositoryPaths.Root, "examples", "block-copy", "block-copy.csproj");
        // NativeAOT on a busy two-core host takes minutes.
        HostCommand.Run("dotnet",
            ["publish", project, "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-p:UnisharpTarget=qemu",
             "-o", output, "--artifacts-path", Path.Combine(work, "artifacts"), "--nologo"],
            TimeSpan.FromMinutes(30)).EnsureSuccess("publishing examples/block-copy for qemu");
        return Path.Combine(output, "block-copy");
    }
}
