namespace Unisharp.Devices;

/// <summary>The geometry and limits of a block device.</summary>
/// <param name="SectorSize">The logical sector size in bytes (512 or 4096): the unit of every request.</param>
/// <param name="SectorCount">How many sectors the device holds.</param>
/// <param name="ReadOnly">Writes are refused.</param>
/// <param name="MaxRequestBytes">The largest request the device accepts, a whole number of sectors.</param>
/// <param name="QueueDepth">How many requests the device runs at once.</param>
/// <param name="PhysicalBlockSize">The device's internal block size; writes aligned to it avoid read-modify-write.</param>
/// <param name="OptimalIoBytes">The request size the device prefers, or 0 when it does not say.</param>
/// <param name="MemoryAlignment">
/// The byte alignment the device needs of a request's buffer address (4096 for a file opened with
/// <c>O_DIRECT</c>), or 1 when any buffer will do. <c>Unisharp.Block.BlockIoScheduler</c> bounces unaligned
/// buffers through aligned ones, so apps never see this.
/// </param>
public sealed record BlockDeviceInfo(
    int SectorSize,
    long SectorCount,
    bool ReadOnly,
    int MaxRequestBytes,
    int QueueDepth,
    int PhysicalBlockSize,
    int OptimalIoBytes = 0,
    int MemoryAlignment = 1)
{
    public long SizeBytes => SectorCount * SectorSize;

    /// <summary>The largest request in whole sectors.</summary>
    public int MaxRequestSectors => MaxRequestBytes / SectorSize;

    /// <summary>Throws <see cref="ArgumentException"/> when the values do not describe a usable device.</summary>
    public void Validate()
    {
        if (SectorSize < 512 || !int.IsPow2(SectorSize))
        {
            throw new ArgumentException($"sector size {SectorSize} is not a power of two of at least 512");
        }
        if (PhysicalBlockSize < SectorSize || !int.IsPow2(PhysicalBlockSize))
        {
            throw new ArgumentException($"physical block size {PhysicalBlockSize} is not a power of two of at least the sector size");
        }
        if (SectorCount < 0)
        {
            throw new ArgumentException($"sector count {SectorCount} is negative");
        }
        if (MaxRequestBytes < SectorSize || MaxRequestBytes % SectorSize != 0)
        {
            throw new ArgumentException($"largest request {MaxRequestBytes} is not a whole number of {SectorSize}-byte sectors");
        }
        if (QueueDepth < 1)
        {
            throw new ArgumentException($"queue depth {QueueDepth} is below 1");
        }
        if (MemoryAlignment < 1 || !int.IsPow2(MemoryAlignment))
        {
            throw new ArgumentException($"memory alignment {MemoryAlignment} is not a power of two");
        }
    }
}
