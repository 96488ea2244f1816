namespace Unisharp.Cli.MicroVm;

/// <summary>
/// A disk of a microVM: <c>--disk NAME=PATH[:ro]</c> on the host, the guest's virtio-blk device
/// <see cref="GuestDevice"/> (vda, vdb, … in the order the disks are given), named to the app by
/// <c>disk.NAME=vdX</c> on the kernel command line.
/// </summary>
internal sealed record MicroVmDisk(string Name, string Path, bool ReadOnly, string GuestDevice)
{
    /// <summary>Parses the <paramref name="index"/>-th <c>NAME=PATH[:ro]</c> option; PATH is made absolute.</summary>
    public static MicroVmDisk Parse(string option, int index)
    {
        int eq = option.IndexOf('=');
        string name = option[..eq];
        string path = option[(eq + 1)..];
        bool readOnly = path.EndsWith(":ro", StringComparison.Ordinal);
        if (readOnly)
        {
            path = path[..^3];
        }
        if (index >= 26)
        {
            throw new CliException("a microVM takes at most 26 disks (vda to vdz)", CliException.Usage);
        }
        return new MicroVmDisk(name, System.IO.Path.GetFullPath(path), readOnly, "vd" + (char)('a' + index));
    }

    /// <summary>The kernel command-line word the guest runtime reads.</summary>
    public string CommandLineWord => $"disk.{Name}={GuestDevice}{(ReadOnly ? ":ro" : "")}";
}
