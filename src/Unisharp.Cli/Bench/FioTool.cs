using System.Text.Json;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.Bench;

/// <summary>
/// The other Linux peer: fio at the same block size and queue depth, direct=1 on io_uring. fio cannot copy, so a
/// reader of disk 0 and a writer of disk 1 run side by side: the copy's upper bound. The time is the slower job's.
/// </summary>
internal sealed class FioTool : IBlockBenchTool
{
    public string Name => "fio";

    public Task<string?> PrepareAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public async Task<TimeSpan> CopyAsync(string from, string to, long bytes, int sectors, int queueDepth, CancellationToken cancellationToken)
    {
        string report = Path.Combine(Path.GetDirectoryName(from)!, "fio.json");
        var result = await ProcessRunner.RunAsync("fio",
            ["--output-format=json", $"--output={report}", "--ioengine=io_uring", "--direct=1", $"--bs={sectors * 512}", $"--iodepth={queueDepth}",
             $"--size={bytes}", "--group_reporting=0",
             "--name=read", $"--filename={from}", "--rw=read",
             "--name=write", $"--filename={to}", "--rw=write"], cancellationToken: cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0 || !File.Exists(report))
        {
            throw new BenchRunException($"fio exit {result.ExitCode}: {result.Output.Trim().ReplaceLineEndings(" | ")}");
        }
        try
        {
            using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report, cancellationToken).ConfigureAwait(false));
            double milliseconds = 0;
            foreach (var job in json.RootElement.GetProperty("jobs").EnumerateArray())
            {
                milliseconds = Math.Max(milliseconds, Math.Max(job.GetProperty("read").GetProperty("runtime").GetDouble(), job.GetProperty("write").GetProperty("runtime").GetDouble()));
            }
            return TimeSpan.FromMilliseconds(Math.Max(milliseconds, 1));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new BenchRunException($"cannot read fio's report: {e.Message}");
        }
        finally
        {
            File.Delete(report);
        }
    }
}
