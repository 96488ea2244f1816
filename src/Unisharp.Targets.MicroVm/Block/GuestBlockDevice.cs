using Unisharp.Linux;
using Unisharp.Logging;

namespace Unisharp.Targets.MicroVm.Block;

/// <summary>
/// A disk of the guest (virtio-blk, <c>/dev/vdX</c>): the same <see cref="FileBlockDevice"/> the unix target
/// uses for a host block device, so requests bypass the guest's page cache (<c>O_DIRECT</c>), run through
/// io_uring (our kernel has <c>CONFIG_IO_URING</c>) up to the queue's depth, and the geometry and limits are
/// the guest kernel's, from <c>/sys/block/vdX/queue</c>. Flushes and FUA writes reach the virtio device.
/// </summary>
internal static class GuestBlockDevice
{
    /// <summary>Opens <c>/dev/<paramref name="device"/></c> as disk <paramref name="name"/>.</summary>
    /// <param name="devDirectory">Where the device nodes are; <c>/dev</c> but for tests.</param>
    /// <param name="log">Where warnings go (no <c>O_DIRECT</c>, no io_uring); the console, at warning level, when null.</param>
    /// <exception cref="IOException">No such device, or sysfs does not describe it.</exception>
    public static FileBlockDevice Open(string name, string device, bool readOnly, string devDirectory = "/dev", Logger? log = null)
    {
        string path = Path.Combine(devDirectory, device);
        if (!File.Exists(path))
        {
            throw new IOException($"disk '{name}': no block device '{device}' in the guest (is a virtio-blk disk attached?)");
        }
        return FileBlockDevice.Open(name, path, readOnly, options: new FileBlockDeviceOptions { Log = log ?? new Logger(LogLevel.Warning) });
    }
}
