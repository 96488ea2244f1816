using System.Security.Cryptography;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>The block-copy unikernel on files given with --disk: byte-exact copies, and clear failures.</summary>
[Collection(CliCollection.Name)]
public sealed class BlockCopyAppTests(BuiltExamples examples) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unisharp-block-copy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(1, false)]
    [InlineData(7, true)]
    [InlineData(50, true)]
    [InlineData(2000, false)]
    public void Copy_TwoFiles_ByteExactAndTimed(int buffsize, bool parallel)
    {
        var (source, destination) = Disks(4 * 1024 * 1024);
        var run = HostCommand.Run(examples.Executable("block-copy"),
            [$"--disk=0={source}", $"--disk=1={destination}", $"--buffsize={buffsize}", $"--parallel={(parallel ? "true" : "false")}", "--verify"],
            TimeSpan.FromMinutes(2));
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Matches(@"done: \d+", run.Stderr);
        Assert.Contains("verify: sha256", run.Stderr);
        Assert.Equal(Hash(source), Hash(destination));
    }

    [Fact]
    public void Copy_ReadOnlyDestination_FailsAndLeavesItUnchanged()
    {
        var (source, destination) = Disks(1024 * 1024);
        string before = Hash(destination);
        var run = HostCommand.Run(examples.Executable("block-copy"), [$"--disk=0={source}", $"--disk=1={destination}:ro"], TimeSpan.FromMinutes(2));
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("read-only", run.Stderr);
        Assert.Equal(before, Hash(destination));
    }

    [Fact]
    public void Copy_MissingDisk_Exit2NamingTheOption()
    {
        var (source, _) = Disks(512 * 8);
        var run = HostCommand.Run(examples.Executable("block-copy"), [$"--disk=0={source}"]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("give --disk 1=PATH", run.Stderr);
    }

    private (string Source, string Destination) Disks(int bytes)
    {
        string source = Path.Combine(_dir, "source.img");
        string destination = Path.Combine(_dir, "destination.img");
        var data = new byte[bytes];
        Random.Shared.NextBytes(data);
        File.WriteAllBytes(source, data);
        File.WriteAllBytes(destination, new byte[bytes]);
        return (source, destination);
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
