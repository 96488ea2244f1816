using Unisharp.Cli.Images;
using Unisharp.Testing;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>An app of examples/ published with NativeAOT for the qemu target and packed into an initramfs.</summary>
internal static class ExampleImage
{
    /// <summary>Publishes <c>examples/<paramref name="example"/></c> (unless <paramref name="publishedVariable"/> names an executable) and packs it.</summary>
    /// <returns>The initramfs image (gzip).</returns>
    public static string Build(string example, string publishedVariable)
    {
        string work = Path.Combine(Path.GetTempPath(), "unisharp-microvm-tests");
        Directory.CreateDirectory(work);
        string executable = Environment.GetEnvironmentVariable(publishedVariable) is { Length: > 0 } given ? given : Publish(example, work);
        string initrd = Path.Combine(work, $"{example}-initrd.gz");
        new InitramfsBuilder(executable).WriteTo(initrd);
        return initrd;
    }

    private static string Publish(string example, string work)
    {
        string output = Path.Combine(work, $"{example}-qemu");
        string project = Path.Combine(RepositoryPaths.Root, "examples", example, $"{example}.csproj");
        // NativeAOT on a busy two-core host takes minutes.
        HostCommand.Run("dotnet",
            ["publish", project, "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-p:UnisharpTarget=qemu",
             "-o", output, "--artifacts-path", Path.Combine(work, "artifacts"), "--nologo"],
            TimeSpan.FromMinutes(30)).EnsureSuccess($"publishing examples/{example} for qemu");
        return Path.Combine(output, example);
    }
}
