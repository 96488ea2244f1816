using System.Globalization;
using System.Text.RegularExpressions;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.Bench;

/// <summary>
/// examples/block-copy on one of our targets, serial or parallel. On unix the executable runs directly; a microVM
/// target runs through <c>unisharp run -t TARGET --no-build</c> (skipped while this version cannot build it).
/// The time is the app's own "done: BYTES bytes in NS ns" (the copy, without the flush that follows), as dd times its copy.
/// </summary>
internal sealed partial class BlockCopyTool(string target, bool parallel) : IBlockBenchTool
{
    private string? _artifact;

    public string Name => $"{target} {(parallel ? "parallel" : "serial")}";

    /// <summary>True once a run said the microVM ran under TCG (emulated: its numbers say little about the code).</summary>
    public bool UnderTcg { get; private set; }

    public async Task<string?> PrepareAsync(CancellationToken cancellationToken)
    {
        if (target == "unix")
        {
            _artifact = await BenchApps.UnixAsync("block-copy", cancellationToken).ConfigureAwait(false);
            return null;
        }
        return await BenchApps.MicroVmAsync("block-copy", target, cancellationToken).ConfigureAwait(false);
    }

    public async Task<TimeSpan> CopyAsync(string from, string to, long bytes, int sectors, int queueDepth, CancellationToken cancellationToken)
    {
        string[] boot = ["--", $"--buffsize={sectors}", $"--parallel={(parallel ? "true" : "false")}"];
        var result = _artifact is not null
            ? await ProcessRunner.RunAsync(_artifact, [$"--disk=0={from}", $"--disk=1={to}", .. boot], cancellationToken: cancellationToken).ConfigureAwait(false)
            : await ProcessRunner.RunAsync(BenchApps.Launcher, ["run", BenchApps.Directory("block-copy"), "-t", target, "--no-build", "--disk", $"0={from}", "--disk", $"1={to}", .. boot], cancellationToken: cancellationToken).ConfigureAwait(false);
        UnderTcg |= result.Output.Contains(BenchHost.TcgMarker, StringComparison.Ordinal);
        var done = Done().Match(result.Output);
        if (result.ExitCode != 0 || !done.Success)
        {
            string last = string.Join(" | ", result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(2)).Trim();
            throw new BenchRunException($"block-copy exit {result.ExitCode}: {last}");
        }
        return TimeSpan.FromTicks(long.Parse(done.Groups[1].ValueSpan, CultureInfo.InvariantCulture) / 100);
    }

    [GeneratedRegex(@"done: \d+ bytes in (\d+) ns")]
    private static partial Regex Done();
}
