namespace Unisharp.Cli.MicroVm;

/// <summary>A built guest kernel: <c>bzImage</c> (QEMU <c>-M pc</c>) and <c>vmlinux</c> (PVH: <c>-M microvm</c>, Firecracker).</summary>
internal sealed record KernelImage(string Directory)
{
    public string BzImage => Path.Combine(Directory, "bzImage");

    public string Vmlinux => Path.Combine(Directory, "vmlinux");

    public bool IsComplete => File.Exists(BzImage) && File.Exists(Vmlinux);

    /// <summary>The kernel file a target boots.</summary>
    public string For(string target) => target == "firecracker" ? Vmlinux : BzImage;

    public static KernelImage In(string directory) => new(Path.GetFullPath(directory));
}
