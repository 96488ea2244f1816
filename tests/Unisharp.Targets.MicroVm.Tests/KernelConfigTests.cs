using System.Buffers.Binary;
using System.Text.RegularExpressions;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// The kernel the tests boot was configured as our Kconfig fragment says (what it requires is built in, what it
/// forbids is off, what it sets has its value), and its vmlinux is the compact one PVH loaders copy.
/// </summary>
public sealed partial class KernelConfigTests
{
    [BootFact]
    public void BuiltKernel_MatchesTheFragment()
    {
        string config = File.ReadAllText(Path.Combine(BootFactAttribute.KernelDirectory.Value!, "config"));
        var set = ConfigLine().Matches(config).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        int required = 0, forbidden = 0, values = 0;
        foreach (string line in File.ReadLines(Path.Combine(RepositoryPaths.Root, "kernel", "unisharp-x86_64.config")))
        {
            if (Required().Match(line) is { Success: true } on)
            {
                required++;
                Assert.True(set.TryGetValue(on.Groups[1].Value, out string? value) && value == "y", $"CONFIG_{on.Groups[1].Value} should be y");
            }
            else if (Value().Match(line) is { Success: true } setting)
            {
                values++;
                Assert.True(set.TryGetValue(setting.Groups[1].Value, out string? value) && value == setting.Groups[2].Value,
                    $"CONFIG_{setting.Groups[1].Value} should be {setting.Groups[2].Value} but is {value ?? "unset"}");
            }
            else if (Forbidden().Match(line) is { Success: true } off)
            {
                forbidden++;
                Assert.False(set.ContainsKey(off.Groups[1].Value), $"CONFIG_{off.Groups[1].Value} should be off");
            }
        }
        // The unikernel's essentials, whatever the fragment says: no kernel TCP/IP, no modules; raw frames, io_uring, PVH.
        Assert.False(set.ContainsKey("INET"), "the kernel has TCP/IP (CONFIG_INET)");
        Assert.False(set.ContainsKey("MODULES"), "the kernel has modules");
        Assert.DoesNotContain("m", set.Values);
        foreach (string option in new[] { "PACKET", "IO_URING", "PVH", "VIRTIO_NET", "VIRTIO_BLK", "VIRTIO_PCI", "VIRTIO_MMIO", "BLK_DEV_INITRD", "DEVTMPFS" })
        {
            Assert.True(set.TryGetValue(option, out string? value) && value == "y", $"CONFIG_{option} should be y");
        }
        Assert.True(required > 20 && forbidden > 3 && values > 0, $"the fragment has only {required} required, {forbidden} forbidden and {values} set options");
        // No ACPI: the guest stops by a reset, so nothing may need ACPI to find devices or interrupts.
        Assert.False(set.ContainsKey("ACPI"), "the kernel has ACPI");
        Assert.True(set.TryGetValue("X86_MPPARSE", out string? mp) && mp == "y", "without ACPI the kernel needs the MP table");
    }

    /// <summary>
    /// The shipped vmlinux holds no section headers or symbols and hardly any padding: its file is its headers and its
    /// segments' bytes, and it keeps the PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) in a PT_NOTE segment.
    /// </summary>
    [BootFact]
    public void ShippedVmlinux_IsCompactAndKeepsThePvhNote()
    {
        byte[] elf = File.ReadAllBytes(Path.Combine(BootFactAttribute.KernelDirectory.Value!, "vmlinux"));
        Assert.True(elf.AsSpan(0, 4).SequenceEqual("\u007fELF"u8), "vmlinux is not an ELF file");
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(0x20));
        ushort phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x36));
        ushort phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x38));
        ushort shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3C));
        Assert.Equal(0, shnum);
        long loaded = 0;
        int loads = 0;
        bool pvhNote = false;
        for (int i = 0; i < phnum; i++)
        {
            var header = elf.AsSpan((int)phoff + i * phentsize, phentsize);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(header);
            long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
            long fileSize = (long)BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
            if (type == 1 /* PT_LOAD */)
            {
                loads++;
                loaded += fileSize;
            }
            else if (type == 4 /* PT_NOTE */)
            {
                pvhNote |= HasNote(elf.AsSpan((int)offset, (int)fileSize), "Xen", 18 /* XEN_ELFNOTE_PHYS32_ENTRY */);
            }
        }
        Assert.True(pvhNote, "vmlinux has no PVH entry note");
        // The ELF header, the program headers and the segments' bytes, and a page to spare.
        Assert.True(elf.Length <= 64 + (long)phnum * phentsize + loaded + 4096, $"vmlinux is {elf.Length} bytes for {loaded} loadable bytes in {loads} segments");
    }

    private static bool HasNote(ReadOnlySpan<byte> notes, string name, uint type)
    {
        while (notes.Length >= 12)
        {
            int nameSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes);
            int descriptionSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes[4..]);
            uint noteType = BinaryPrimitives.ReadUInt32LittleEndian(notes[8..]);
            int nameEnd = 12 + ((nameSize + 3) & ~3);
            if (noteType == type && nameSize == name.Length + 1 && notes.Length >= 12 + nameSize &&
                System.Text.Encoding.ASCII.GetString(notes.Slice(12, name.Length)) == name)
            {
                return true;
            }
            int next = nameEnd + ((descriptionSize + 3) & ~3);
            if (next > notes.Length)
            {
                break;
            }
            notes = notes[next..];
        }
        return false;
    }

    [GeneratedRegex(@"^CONFIG_([A-Za-z0-9_]+)=(.*)$", RegexOptions.Multiline)]
    private static partial Regex ConfigLine();

    [GeneratedRegex(@"^CONFIG_([A-Za-z0-9_]+)=y$")]
    private static partial Regex Required();

    [GeneratedRegex(@"^CONFIG_([A-Za-z0-9_]+)=([0-9]+)$")]
    private static partial Regex Value();

    [GeneratedRegex(@"^# CONFIG_([A-Za-z0-9_]+) is not set$")]
    private static partial Regex Forbidden();
}
