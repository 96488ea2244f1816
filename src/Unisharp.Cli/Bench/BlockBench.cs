using System.Globalization;
using System.Text;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.Bench;

/// <summary>
/// <c>unisharp bench block</c>: the seed's copy benchmark. Two disk files, refilled from /dev/urandom before every
/// run; examples/block-copy on each target (serial and parallel) and the peers dd and fio copy disk 0 onto disk 1
/// in blocks of N sectors; the median of the repetitions is reported, with the ratio to dd.
/// </summary>
internal static class BlockBench
{
    public static readonly string[] Known = ["unix", "qemu", "firecracker"];

    /// <summary>The Linux peer that the ratios are against.</summary>
    public const string Baseline = "dd";

    // BlockCopy's parallel mode on a file disk: up to 64 requests in flight, at most 16 MiB of buffers.
    private const int FileQueueDepth = 64;
    private const int MaxBytesInFlight = 16 << 20;

    public static int QueueDepth(int sectors) => Math.Clamp(MaxBytesInFlight / (sectors * 512), 1, FileQueueDepth);

    public static async Task<int> RunAsync(BlockBenchOptions options, CancellationToken cancellationToken)
    {
        await HostPackages.EnsureAsync([HostPackages.Command("dd", "coreutils"), HostPackages.Command("fio", "fio")], Progress.Info, cancellationToken).ConfigureAwait(false);
        var when = DateTime.UtcNow;
        string loadBefore = BenchHost.LoadAverage();
        var tools = new List<IBlockBenchTool>();
        foreach (string target in options.Targets)
        {
            tools.AddRange(options.Modes.Select(parallel => new BlockCopyTool(target, parallel)));
        }
        tools.Add(new DdTool());
        tools.Add(new FioTool());

        var skipped = new List<string>();
        var ready = new List<IBlockBenchTool>();
        foreach (var tool in tools)
        {
            string? reason = await tool.PrepareAsync(cancellationToken).ConfigureAwait(false);
            if (reason is null)
            {
                ready.Add(tool);
            }
            else if (!skipped.Any(s => s.StartsWith(tool.Name.Split(' ')[0] + ":", StringComparison.Ordinal)))
            {
                Progress.Info($"bench block: {tool.Name.Split(' ')[0]}: skipped: {reason}");
                skipped.Add($"{tool.Name.Split(' ')[0]}: {reason}");
            }
        }

        Directory.CreateDirectory(options.DiskDirectory);
        string disk0 = Path.Combine(options.DiskDirectory, "disk0.img");
        string disk1 = Path.Combine(options.DiskDirectory, "disk1.img");
        long bytes = (long)options.DiskMib << 20;
        var rows = new List<BlockBenchRow>();
        try
        {
            foreach (int sectors in options.Sizes)
            {
                int depth = QueueDepth(sectors);
                for (int rep = 0; rep < options.Reps; rep++)
                {
                    Progress.Info($"bench block: {sectors} sectors, run {rep + 1} of {options.Reps}: {string.Join(", ", ready.Select(t => t.Name))} ...");
                    foreach (var tool in ready)
                    {
                        await RefillAsync([disk0, disk1], options.DiskMib, cancellationToken).ConfigureAwait(false);
                        rows.Add(await RunOneAsync(tool, disk0, disk1, bytes, sectors, depth, rep, options, cancellationToken).ConfigureAwait(false));
                    }
                }
                var line = new StringBuilder().Append(CultureInfo.InvariantCulture, $"bench block: {sectors} sectors ({sectors * 512} B, qd {depth}):");
                foreach (var tool in ready)
                {
                    line.Append(CultureInfo.InvariantCulture, $" {tool.Name} {Format(Median(rows, tool.Name, sectors))}");
                }
                Progress.Info(line.Append(" MB/s").ToString());
            }
        }
        finally
        {
            File.Delete(disk0);
            File.Delete(disk1);
        }

        var (csv, png, markdown) = BenchHost.OutputPaths(options.OutDirectory, "block", options.Tag, when);
        await File.WriteAllTextAsync(csv, Csv(rows), cancellationToken).ConfigureAwait(false);
        var series = ready.Select(t => new BenchPlot.Series(t.Name + (t is BlockCopyTool { UnderTcg: true } ? " (TCG)" : ""), options.Sizes.Select(s => (double)s).ToArray(), options.Sizes.Select(s => Median(rows, t.Name, s)).ToArray())).ToList();
        BenchPlot.Save(png, $"Disk copy, {options.DiskMib} MiB, median of {options.Reps} ({when:yyyy-MM-dd})", "buffer size (512-byte sectors)", "MB/s", logX: true, series);
        await File.WriteAllTextAsync(markdown, Summary(rows, ready, options, when, loadBefore, BenchHost.LoadAverage(), skipped, Path.GetFileName(png)), cancellationToken).ConfigureAwait(false);
        Console.WriteLine(csv);
        Console.WriteLine(png);
        Console.WriteLine(markdown);
        return rows.Any(r => r.Status != "ok") ? CliException.Failure : 0;
    }

    private static async Task<BlockBenchRow> RunOneAsync(IBlockBenchTool tool, string disk0, string disk1, long bytes, int sectors, int depth, int rep,
        BlockBenchOptions options, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(options.Timeout);
        string status;
        try
        {
            var time = await tool.CopyAsync(disk0, disk1, bytes, sectors, depth, bounded.Token).ConfigureAwait(false);
            double seconds = time.TotalSeconds;
            return new BlockBenchRow(tool.Name, sectors, depth, options.DiskMib, rep, seconds, seconds > 0 ? bytes / seconds / 1e6 : double.NaN, "ok");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            status = $"error: timeout after {options.Timeout.TotalSeconds:0} s";
        }
        catch (BenchRunException e)
        {
            status = $"error: {e.Message}";
        }
        Progress.Info($"bench block: {tool.Name}, {sectors} sectors: {status}");
        return new BlockBenchRow(tool.Name, sectors, depth, options.DiskMib, rep, 0, double.NaN, status);
    }

    /// <summary>Fresh random contents in both disks, so no run reads what an earlier one left in a cache.</summary>
    private static async Task RefillAsync(string[] disks, int mib, CancellationToken cancellationToken)
    {
        foreach (string disk in disks)
        {
            var fill = await ProcessRunner.RunAsync("dd", ["if=/dev/urandom", $"of={disk}", "bs=1M", $"count={mib}", "iflag=fullblock", "status=none"],
                cancellationToken: cancellationToken).ConfigureAwait(false);
            if (fill.ExitCode != 0)
            {
                throw new CliException($"cannot fill {disk} from /dev/urandom: {fill.Output.Trim()}");
            }
        }
    }

    private static double Median(List<BlockBenchRow> rows, string tool, int sectors) =>
        BenchHost.Median(rows.Where(r => r.Tool == tool && r.Sectors == sectors).Select(r => r.Mbps));

    private static string Format(double value) => double.IsNaN(value) ? "failed" : BenchHost.Number(value);

    private static string Csv(List<BlockBenchRow> rows)
    {
        var text = new StringBuilder("tool,buffsize_sectors,block_bytes,queue_depth,disk_mib,rep,seconds,mbps,status\n");
        foreach (var r in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"{r.Tool},{r.Sectors},{r.Sectors * 512},{r.QueueDepth},{r.DiskMib},{r.Rep},{BenchHost.Number(r.Seconds, "0.000000")},{BenchHost.Number(r.Mbps, "0.00")},{r.Status.Replace(',', ';')}\n");
        }
        return text.ToString();
    }

    private static string Summary(List<BlockBenchRow> rows, List<IBlockBenchTool> tools, BlockBenchOptions options, DateTime when, string loadBefore, string loadAfter,
        List<string> skipped, string png)
    {
        var names = tools.Select(t => t.Name).ToList();
        var ratios = names.Contains(Baseline) ? names.Where(n => n != Baseline).ToList() : [];
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# bench block, {when:yyyy-MM-dd HH:mm} UTC\n\n");
        text.Append(CultureInfo.InvariantCulture, $"Copy of disk 0 onto disk 1 ({options.DiskMib} MiB files in {options.DiskDirectory}, both refilled from /dev/urandom before every run), ");
        text.Append(CultureInfo.InvariantCulture, $"median of {options.Reps} run(s), MB/s = 10^6 bytes per second. Our targets run examples/block-copy (its own timing of the copy, without the final flush); ");
        text.Append("dd copies with iflag=direct oflag=direct at the same block size; fio runs a reader of disk 0 and a writer of disk 1 side by side at the same block size and queue depth (direct=1, io_uring), the copy's upper bound.\n\n");
        text.Append(CultureInfo.InvariantCulture, $"Machine: {BenchHost.Describe()}; load average {loadBefore} at the start, {loadAfter} at the end. ");
        text.Append("The machine is shared with other agents building code while this ran, so single runs vary.");
        var emulated = tools.OfType<BlockCopyTool>().Where(t => t.UnderTcg).Select(t => t.Name).ToList();
        if (emulated.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $" microVM numbers under TCG ({string.Join(", ", emulated)}: QEMU emulating the CPU, no usable KVM here); the app times its own copy, so the boot is not counted.");
        }
        text.Append("\n\n");
        text.Append("| buffsize (sectors) | block | qd |");
        foreach (string n in names)
        {
            text.Append(CultureInfo.InvariantCulture, $" {n} |");
        }
        foreach (string n in ratios)
        {
            text.Append(CultureInfo.InvariantCulture, $" {n} / {Baseline} |");
        }
        text.Append("\n|---:|---:|---:|").Append(string.Concat(Enumerable.Repeat("---:|", names.Count + ratios.Count))).Append('\n');
        foreach (int sectors in options.Sizes)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {sectors} | {sectors * 512} | {QueueDepth(sectors)} |");
            foreach (string n in names)
            {
                text.Append(CultureInfo.InvariantCulture, $" {Format(Median(rows, n, sectors))} |");
            }
            foreach (string n in ratios)
            {
                double ratio = Median(rows, n, sectors) / Median(rows, Baseline, sectors);
                text.Append(CultureInfo.InvariantCulture, $" {(double.IsNaN(ratio) ? "" : BenchHost.Number(ratio, "0.00") + "x")} |");
            }
            text.Append('\n');
        }
        text.Append('\n');
        foreach (var failure in rows.Where(r => r.Status != "ok"))
        {
            text.Append(CultureInfo.InvariantCulture, $"- {failure.Tool}, {failure.Sectors} sectors, run {failure.Rep + 1}: {failure.Status}\n");
        }
        foreach (string s in skipped)
        {
            text.Append(CultureInfo.InvariantCulture, $"- skipped {s}\n");
        }
        text.Append(CultureInfo.InvariantCulture, $"\n![bench block]({png})\n");
        return text.ToString();
    }
}
