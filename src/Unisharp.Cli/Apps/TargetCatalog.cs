namespace Unisharp.Cli.Apps;

/// <summary>The targets the tool knows, and whether this version can build them.</summary>
internal static class TargetCatalog
{
    public const string Default = "unix";

    public static readonly string[] All = ["unix", "qemu", "firecracker"];

    private static readonly Dictionary<string, string> s_descriptions = new()
    {
        ["unix"] = "an ordinary Linux process: TAP or host sockets, files as disks",
        ["qemu"] = "a microVM image booted by QEMU, devices on virtio-pci",
        ["firecracker"] = "a microVM image for Firecracker's device model (virtio-mmio, PVH); run here on QEMU's microvm",
    };

    public static string Describe(string target) => s_descriptions[target];

    /// <summary>Every known target can be built by this version.</summary>
    public static bool IsAvailable(string target) => All.Contains(target);

    /// <summary>True for the targets whose artifact is a bootable microVM image rather than a Linux executable.</summary>
    public static bool IsMicroVm(string target) => target is "qemu" or "firecracker";

    /// <summary>Checks <paramref name="target"/>; throws a usage error naming the choices when it is unknown or not built yet.</summary>
    public static string Require(string? target)
    {
        target ??= Default;
        if (!All.Contains(target))
        {
            throw new CliException($"unknown target '{target}': choose {string.Join(", ", All)}", CliException.Usage);
        }
        if (!IsAvailable(target))
        {
            throw new CliException($"target '{target}' is not available yet in this version of unisharp; use -t unix", CliException.Usage);
        }
        return target;
    }
}
