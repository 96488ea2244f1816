namespace Unisharp.Devices;

/// <summary>The checks every block device makes before it touches data, shared by all implementations.</summary>
public static class BlockRequestCheck
{
    /// <summary>Throws <see cref="BlockDeviceException"/> when the request breaks the device's contract.</summary>
    public static void Validate(string device, BlockDeviceInfo info, long sector, int length, bool write)
    {
        long count = length / info.SectorSize;
        if (write && info.ReadOnly)
        {
            throw new BlockDeviceException(device, BlockError.ReadOnly, sector, count, "the device was opened read-only");
        }
        if (length <= 0 || length % info.SectorSize != 0)
        {
            throw new BlockDeviceException(device, BlockError.UnalignedLength, sector, 0,
                $"{length} bytes is not a positive multiple of the {info.SectorSize}-byte sector");
        }
        if (length > info.MaxRequestBytes)
        {
            throw new BlockDeviceException(device, BlockError.RequestTooLarge, sector, count,
                $"{length} bytes is over the {info.MaxRequestBytes}-byte limit");
        }
        if (sector < 0 || sector > info.SectorCount - count)
        {
            throw new BlockDeviceException(device, BlockError.OutOfRange, sector, count,
                $"the device has {info.SectorCount} sectors");
        }
    }

    /// <summary>Throws <see cref="BlockError.Disconnected"/> for a request to a device that was closed.</summary>
    public static void ThrowIfClosed(string device, bool closed, long sector, long count)
    {
        if (closed)
        {
            throw new BlockDeviceException(device, BlockError.Disconnected, sector, count, "the device was closed");
        }
    }

    /// <summary>Whether <paramref name="buffer"/> starts at a multiple of <paramref name="alignment"/> (a power of two).</summary>
    public static unsafe bool IsAligned(Memory<byte> buffer, int alignment)
    {
        // Pinning an array costs a GC handle, not an allocation; native and pinned memory cost nothing.
        using var pin = buffer.Pin();
        return ((nuint)pin.Pointer & (nuint)(alignment - 1)) == 0;
    }
}
