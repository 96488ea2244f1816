using System.Buffers.Binary;

namespace Unisharp.Cli.Images;

/// <summary>
/// The GNU build ID of an ELF file (the <c>NT_GNU_BUILD_ID</c> note), which the linker writes into an executable and
/// <c>objcopy --only-keep-debug</c> keeps in its symbol file: the same ID means the symbols are the executable's.
/// </summary>
public static class ElfBuildId
{
    // System V gABI "Section Header" and "Note Section"; NT_GNU_BUILD_ID from binutils' include/elf/common.h.
    private const uint ShtNote = 7;
    private const uint NtGnuBuildId = 3;

    /// <summary>The build ID in lower-case hex, or null when the file has none.</summary>
    /// <exception cref="InvalidDataException">The file is not a 64-bit little-endian ELF file, or its section headers lie outside it.</exception>
    public static string? Read(ReadOnlySpan<byte> elf)
    {
        ElfDependencies.CheckHeader(elf);
        long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf[40..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[58..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[60..]);
        if (shnum > 0 && (shentsize < 64 || shoff < 0 || shoff + (long)shentsize * shnum > elf.Length))
        {
            throw new InvalidDataException("the section headers lie outside the file");
        }
        for (int i = 0; i < shnum; i++)
        {
            var sh = elf.Slice((int)shoff + i * shentsize, shentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != ShtNote)
            {
                continue;
            }
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(sh[24..]);
            ulong size = BinaryPrimitives.ReadUInt64LittleEndian(sh[32..]);
            if (offset > (ulong)elf.Length || size > (ulong)elf.Length - offset)
            {
                throw new InvalidDataException("a note section lies outside the file");
            }
            if (FindBuildId(elf.Slice((int)offset, (int)size)) is { } id)
            {
                return id;
            }
        }
        return null;
    }

    /// <summary>The build ID of the file at <paramref name="path"/>, or null when it has none.</summary>
    public static string? Read(string path) => Read(File.ReadAllBytes(path));

    private static string? FindBuildId(ReadOnlySpan<byte> notes)
    {
        // Each note: name size, descriptor size, type, then the name and the descriptor, each padded to 4 bytes.
        while (notes.Length >= 12)
        {
            int nameSize = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(notes), int.MaxValue - 3);
            int descSize = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(notes[4..]), int.MaxValue - 3);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(notes[8..]);
            int nameEnd = 12 + ((nameSize + 3) & ~3);
            if (nameEnd > notes.Length || descSize > notes.Length - nameEnd)
            {
                return null;
            }
            if (type == NtGnuBuildId && notes.Slice(12, nameSize).SequenceEqual("GNU\0"u8))
            {
                return Convert.ToHexStringLower(notes.Slice(nameEnd, descSize));
            }
            int next = nameEnd + ((descSize + 3) & ~3);
            notes = next >= notes.Length ? [] : notes[next..];
        }
        return null;
    }
}
