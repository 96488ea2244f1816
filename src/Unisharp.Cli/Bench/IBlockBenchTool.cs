namespace Unisharp.Cli.Bench;

/// <summary>Something <c>bench block</c> measures copying disk 0 onto disk 1: one of our targets in a copy mode, or a peer (dd, fio).</summary>
internal interface IBlockBenchTool
{
    /// <summary>The name in the results, e.g. "unix parallel", "dd".</summary>
    string Name { get; }

    /// <summary>Builds what it needs; returns null when ready, else why it is skipped.</summary>
    Task<string?> PrepareAsync(CancellationToken cancellationToken);

    /// <summary>Copies <paramref name="bytes"/> from <paramref name="from"/> to <paramref name="to"/> in blocks of <paramref name="sectors"/>; returns the copy's time.</summary>
    Task<TimeSpan> CopyAsync(string from, string to, long bytes, int sectors, int queueDepth, CancellationToken cancellationToken);
}
