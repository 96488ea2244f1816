namespace Unisharp.Devices;

/// <summary>A block request that failed, with the device and the sector range it concerned.</summary>
public sealed class BlockDeviceException : IOException
{
    public BlockDeviceException(string device, BlockError error, long sector, long sectorCount, string detail, Exception? inner = null)
        : base($"disk '{device}': {Describe(error)} at sectors {sector}..{sector + Math.Max(sectorCount, 1) - 1}: {detail}", inner)
    {
        Device = device;
        Error = error;
        Sector = sector;
        SectorCount = sectorCount;
    }

    public string Device { get; }
    public BlockError Error { get; }
    /// <summary>The first sector of the failed request.</summary>
    public long Sector { get; }
    /// <summary>How many sectors the failed request covered (0 when its length was not whole sectors).</summary>
    public long SectorCount { get; }

    private static string Describe(BlockError error) => error switch
    {
        BlockError.UnalignedLength => "length is not a whole number of sectors",
        BlockError.RequestTooLarge => "request is larger than the device accepts",
        BlockError.OutOfRange => "request is outside the device",
        BlockError.ReadOnly => "device is read-only",
        BlockError.IoError => "I/O error",
        BlockError.Disconnected => "device is closed",
        _ => error.ToString(),
    };
}
