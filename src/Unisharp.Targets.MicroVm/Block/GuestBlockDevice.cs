using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Unisharp.Devices;
using Unisharp.Targets.MicroVm.Interop;

namespace Unisharp.Targets.MicroVm.Block;

/// <summary>
/// A disk of the guest (virtio-blk, <c>/dev/vdX</c>) as a block device: requests are positioned reads and
/// writes of the device node; the geometry comes from <c>/sys/block/vdX</c>.
/// </summary>
/// <remarks>
/// The device is opened without O_DIRECT, so the guest kernel's page cache sits under it: <see cref="FlushAsync"/>
/// (fsync) pushes writes to the virtio device, and the target syncs before the machine powers off.
/// </remarks>
internal sealed class GuestBlockDevice : IBlockDevice
{
    // The scheduler above runs at most this many requests at once, each on a thread-pool thread.
    private const int MaxQueueDepth = 16;

    private readonly SafeFileHandle _handle;
    private int _disposed;

    private GuestBlockDevice(string name, string device, SafeFileHandle handle, BlockDeviceInfo info)
    {
        Name = name;
        Device = device;
        _handle = handle;
        Info = info;
    }

    public string Name { get; }

    /// <summary>The guest device, such as <c>vda</c>.</summary>
    public string Device { get; }

    public BlockDeviceInfo Info { get; }

    /// <summary>Opens <c>/dev/<paramref name="device"/></c> as disk <paramref name="name"/>.</summary>
    /// <param name="sysBlock">Where sysfs describes block devices; <c>/sys/block</c> but for tests.</param>
    /// <param name="devDirectory">Where the device nodes are; <c>/dev</c> but for tests.</param>
    /// <exception cref="IOException">No such device, or sysfs does not describe it.</exception>
    public static GuestBlockDevice Open(string name, string device, bool readOnly, string sysBlock = "/sys/block", string devDirectory = "/dev")
    {
        string sys = Path.Combine(sysBlock, device);
        if (!Directory.Exists(sys))
        {
            throw new IOException($"disk '{name}': no block device '{device}' in the guest (is a virtio-blk disk attached?)");
        }
        var info = ReadInfo(sys, readOnly);
        var handle = File.OpenHandle(Path.Combine(devDirectory, device), FileMode.Open, info.ReadOnly ? FileAccess.Read : FileAccess.ReadWrite);
        return new GuestBlockDevice(name, device, handle, info);
    }

    /// <summary>The geometry of the device described by sysfs directory <paramref name="sys"/>.</summary>
    internal static BlockDeviceInfo ReadInfo(string sys, bool readOnly)
    {
        int sectorSize = (int)ReadNumber(sys, "queue/logical_block_size", 512);
        // /sys/block/X/size counts 512-byte sectors whatever the logical block size (include/linux/blkdev.h).
        long bytes = ReadNumber(sys, "size", null) * 512;
        int physical = (int)Math.Max(ReadNumber(sys, "queue/physical_block_size", sectorSize), sectorSize);
        long maxKb = ReadNumber(sys, "queue/max_sectors_kb", 1024);
        int maxRequest = (int)Math.Clamp(maxKb * 1024 / sectorSize * sectorSize, sectorSize, 1 << 30);
        int optimal = (int)ReadNumber(sys, "queue/optimal_io_size", 0);
        int depth = (int)Math.Clamp(ReadNumber(sys, "queue/nr_requests", MaxQueueDepth), 1, MaxQueueDepth);
        bool deviceReadOnly = ReadNumber(sys, "ro", 0) != 0;
        var info = new BlockDeviceInfo(sectorSize, bytes / sectorSize, readOnly || deviceReadOnly, maxRequest, depth, physical, optimal);
        info.Validate();
        return info;
    }

    private static long ReadNumber(string sys, string file, long? fallback)
    {
        string path = Path.Combine(sys, file);
        if (!File.Exists(path))
        {
            return fallback ?? throw new IOException($"{path} is missing");
        }
        string text = File.ReadAllText(path).Trim();
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new IOException($"{path} holds '{text}', not a number");
    }

    public async ValueTask ReadAsync(long sector, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        BlockRequestCheck.Validate(Name, Info, sector, buffer.Length, write: false);
        long offset = sector * Info.SectorSize;
        int done = 0;
        while (done < buffer.Length)
        {
            int n;
            try
            {
                n = await RandomAccess.ReadAsync(_handle, buffer[done..], offset + done, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new BlockDeviceException(Name, BlockError.IoError, sector, buffer.Length / Info.SectorSize, e.Message, e);
            }
            if (n == 0)
            {
                throw new BlockDeviceException(Name, BlockError.IoError, sector, buffer.Length / Info.SectorSize, "the device ended early");
            }
            done += n;
        }
    }

    public async ValueTask WriteAsync(long sector, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        BlockRequestCheck.Validate(Name, Info, sector, buffer.Length, write: true);
        try
        {
            await RandomAccess.WriteAsync(_handle, buffer, sector * Info.SectorSize, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new BlockDeviceException(Name, BlockError.IoError, sector, buffer.Length / Info.SectorSize, e.Message, e);
        }
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Info.ReadOnly)
        {
            return;
        }
        await Task.Run(() =>
        {
            if (Libc.FSync((int)_handle.DangerousGetHandle()) < 0)
            {
                var error = Libc.LastError("fsync");
                throw new BlockDeviceException(Name, BlockError.IoError, 0, 0, error.Message, error);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _handle.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}
