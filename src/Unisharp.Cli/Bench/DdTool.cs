using System.Globalization;
using System.Text.RegularExpressions;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.Bench;

/// <summary>The Linux peer: <c>dd iflag=direct oflag=direct bs=SIZE</c> copying the same disks; its own reported time.</summary>
internal sealed partial class DdTool : IBlockBenchTool
{
    public string Name => "dd";

    public Task<string?> PrepareAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public async Task<TimeSpan> CopyAsync(string from, string to, long bytes, int sectors, int queueDepth, CancellationToken cancellationToken)
    {
        long block = sectors * 512L;
        long count = (bytes + block - 1) / block;
        var result = await ProcessRunner.RunAsync("dd",
            [$"if={from}", $"of={to}", $"bs={block}", $"count={count}", "iflag=direct", "oflag=direct", "conv=notrunc"],
            environment: new Dictionary<string, string> { ["LC_ALL"] = "C" }, cancellationToken: cancellationToken).ConfigureAwait(false);
        var copied = Copied().Match(result.Output);
        if (result.ExitCode != 0 || !copied.Success)
        {
            throw new BenchRunException($"dd exit {result.ExitCode}: {result.Output.Trim().ReplaceLineEndings(" | ")}");
        }
        return TimeSpan.FromSeconds(double.Parse(copied.Groups[1].ValueSpan, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"bytes .* copied, ([0-9.e+-]+) s")]
    private static partial Regex Copied();
}
