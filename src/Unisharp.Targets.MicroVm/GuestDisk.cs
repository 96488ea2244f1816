using Unisharp.Hosting;

namespace Unisharp.Targets.MicroVm;

/// <summary>The value of <c>disk.NAME=DEVICE[:ro]</c> on the kernel command line: disk NAME is <c>/dev/DEVICE</c>.</summary>
/// <param name="Name">The name the app opens the disk by.</param>
/// <param name="Device">The guest's block device name, such as <c>vda</c> (the first virtio-blk disk).</param>
/// <param name="ReadOnly">Open it read-only.</param>
public readonly record struct GuestDisk(string Name, string Device, bool ReadOnly)
{
    /// <summary>The device node.</summary>
    public string DevicePath => "/dev/" + Device;

    /// <summary>Parses the part after <c>disk.</c>: <c>NAME=DEVICE[:ro]</c>; DEVICE may be written <c>/dev/vda</c>.</summary>
    /// <exception cref="BootArgumentException">No '=', an empty name, or a device that is not a plain name.</exception>
    public static GuestDisk Parse(string value)
    {
        int eq = value.IndexOf('=');
        if (eq <= 0)
        {
            throw new BootArgumentException($"invalid disk option 'disk.{value}': expected disk.NAME=DEVICE, e.g. disk.data=vda");
        }
        string name = value[..eq];
        string device = value[(eq + 1)..];
        bool readOnly = device.EndsWith(":ro", StringComparison.Ordinal);
        if (readOnly)
        {
            device = device[..^3];
        }
        if (device.StartsWith("/dev/", StringComparison.Ordinal))
        {
            device = device[5..];
        }
        if (device.Length == 0 || !device.All(char.IsAsciiLetterOrDigit))
        {
            throw new BootArgumentException($"invalid disk option 'disk.{value}': '{device}' is not a block device name such as vda");
        }
        return new GuestDisk(name, device, readOnly);
    }
}
