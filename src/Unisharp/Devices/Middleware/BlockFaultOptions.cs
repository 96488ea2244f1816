namespace Unisharp.Devices.Middleware;

/// <summary>
/// The faults a <see cref="FaultInjectorBlockDevice"/> injects: failed reads and writes, short writes and a disk that
/// shrinks, chosen from a seed so the same seed and the same requests give the same faults.
/// </summary>
public sealed record BlockFaultOptions
{
    /// <summary>Seeds the random choices.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The chance that a read fails with an I/O error before any data is transferred (0 to 1).</summary>
    public double ReadError { get; init; }

    /// <summary>The chance that a write fails with an I/O error before any sector is written (0 to 1).</summary>
    public double WriteError { get; init; }

    /// <summary>
    /// The chance that a write of more than one sector writes only its first sectors (at least none, at most all but
    /// one) and then fails with an I/O error for the rest (0 to 1).
    /// </summary>
    public double ShortWrite { get; init; }

    /// <summary>After this many requests the disk shrinks to <see cref="ShrinkToSectors"/> sectors; null: never.</summary>
    public long? ShrinkAfterRequests { get; init; }

    /// <summary>The sectors left once the disk has shrunk; requests that reach past them fail as out of range.</summary>
    public long ShrinkToSectors { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a value out of range.</summary>
    public void Validate()
    {
        CheckChance(ReadError, nameof(ReadError));
        CheckChance(WriteError, nameof(WriteError));
        CheckChance(ShortWrite, nameof(ShortWrite));
        if (ShrinkAfterRequests is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ShrinkAfterRequests), ShrinkAfterRequests, "is negative");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(ShrinkToSectors);
    }

    private static void CheckChance(double value, string name)
    {
        if (!(value >= 0 && value <= 1))
        {
            throw new ArgumentOutOfRangeException(name, value, "is a chance from 0 to 1");
        }
    }
}
