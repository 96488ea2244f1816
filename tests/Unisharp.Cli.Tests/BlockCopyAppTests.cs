using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
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
        Assert.Matches(@"done: 4194304 bytes in \d+ ns, \d+\.\d MB/s", run.Stderr);
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
    public async Task Copy_DestinationTruncatedDuringTheCopy_FailsSayingSo()
    {
        // Small jobs make the copy last a while; once both disks are open, the destination is cut to nothing
        // again and again until the copy ends, as a runaway cleanup job might.
        var (source, destination) = Disks(16 * 1024 * 1024);
        int truncations = 0;
        var (exitCode, stderr) = await RunBlockCopyAsync([$"--disk=0={source}", $"--disk=1={destination}", "--buffsize=8"], "; disk 1: ",
            async process =>
            {
                while (!process.HasExited)
                {
                    File.WriteAllBytes(destination, []);
                    truncations++;
                    await Task.Delay(5);
                }
            });

        Assert.True(truncations > 0, "the copy ended before the destination could be truncated");
        Assert.True(exitCode == 1, $"exit {exitCode}: {stderr}");
        Assert.Contains("disk '1': I/O error at sectors ", stderr);
        Assert.Matches(@"its file shrank to \d+ bytes of 16777216 while in use", stderr);
        Assert.DoesNotContain("done:", stderr);
    }

    [Fact]
    public async Task Verify_DestinationChangedAfterTheCopy_SaysWhereTheDisksDiffer()
    {
        // One byte of the destination's last sector changes as soon as the copy is done: the comparison, which
        // reads 32 MiB of both disks after a flush, reaches that sector last.
        var (source, destination) = Disks(32 * 1024 * 1024);
        long offset = 32 * 1024 * 1024 - 100;
        var (exitCode, stderr) = await RunBlockCopyAsync([$"--disk=0={source}", $"--disk=1={destination}", "--verify"], "done: ", _ =>
        {
            using var file = new FileStream(destination, FileMode.Open, FileAccess.ReadWrite);
            file.Position = offset;
            int old = file.ReadByte();
            file.Position = offset;
            file.WriteByte((byte)~old);
            file.Flush(flushToDisk: true);
            return Task.CompletedTask;
        });

        Assert.True(exitCode == 1, $"exit {exitCode}: {stderr}");
        Assert.Contains($"verify: disk 1 differs from disk 0, first at byte {offset} (sector {offset / 512}): sha256 ", stderr);
    }

    [Fact]
    public void Help_NamesTheDisks()
    {
        var run = HostCommand.Run(examples.Executable("block-copy"), ["--help"]);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Disks (each given as --disk NAME=PATH):", run.Stdout);
        Assert.Matches(@"\n  0 +The disk copied from\.\n  1 +The disk copied to", run.Stdout);
    }

    [Fact]
    public void Copy_MissingDisk_Exit2NamingTheOption()
    {
        var (source, _) = Disks(512 * 8);
        var run = HostCommand.Run(examples.Executable("block-copy"), [$"--disk=0={source}"]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("give --disk 1=PATH", run.Stderr);
    }

    // Runs block-copy, calls whenSeen once a line of its standard error contains `trigger`, and waits for its end.
    private async Task<(int ExitCode, string Stderr)> RunBlockCopyAsync(string[] arguments, string trigger, Func<Process, Task> whenSeen)
    {
        var start = new ProcessStartInfo(examples.Executable("block-copy"))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = new StringBuilder();
        string? line;
        while ((line = await process.StandardError.ReadLineAsync()) is not null)
        {
            stderr.AppendLine(line);
            if (line.Contains(trigger, StringComparison.Ordinal))
            {
                break;
            }
        }
        var rest = process.StandardError.ReadToEndAsync();
        await whenSeen(process);
        stderr.Append(await rest);
        await stdout;
        await process.WaitForExitAsync();
        return (process.ExitCode, stderr.ToString());
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
