namespace Unisharp.Cli.MicroVm;

/// <summary>
/// A built guest kernel: <c>vmlinux</c>, which both targets boot through its PVH entry point (QEMU's <c>-M pc</c> and
/// <c>-M microvm</c>, Firecracker), and <c>bzImage</c>, for loaders that need the Linux boot protocol (SeaBIOS's, GRUB).
/// </summary>
internal sealed record KernelImage(string Directory)
{
    public string BzImage => Path.Combine(Directory, "bzImage");

    public string Vmlinux => Path.Combine(Directory, "vmlinux");

    /// <summary>The linker's vmlinux with its symbols (kernel/build-kernel.sh keeps it beside the compacted one), for gdb.</summary>
    public string VmlinuxWithSymbols => Path.Combine(Directory, "vmlinux.full");

    public bool IsComplete => File.Exists(BzImage) && File.Exists(Vmlinux);

    public static KernelImage In(string directory) => new(Path.GetFullPath(directory));
}
