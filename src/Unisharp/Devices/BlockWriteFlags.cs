namespace Unisharp.Devices;

/// <summary>How a block write must complete.</summary>
[Flags]
public enum BlockWriteFlags
{
    /// <summary>Done when the device has the data; <see cref="IBlockDevice.FlushAsync"/> makes it durable.</summary>
    None = 0,

    /// <summary>
    /// Forced unit access: done only when the data is durable, without flushing other writes (a FUA write on
    /// the device; <c>RWF_DSYNC</c> on Linux). Journals and commit records use it.
    /// </summary>
    ForceUnitAccess = 1,
}
