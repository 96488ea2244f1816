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
    private const uint PtNote = 4;
    private const uint NtGnuBuildId = 3;

    /// <summary>
    /// The build ID in lower-case hex, or null when the file has none: from the note sections, or from the note
    /// segments of a file without section headers (the image's compacted vmlinux).
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a 64-bit little-endian ELF file, or its section headers lie outside it.</exception>
    public static string? Read(ReadOnlySpan<byte> elf)
    {
        ElfDependencies.CheckHeader(elf);
        // Section headers: e_shoff, e_shentsize, e_shnum; sh_type, sh_offset, sh_size. Program headers: e_phoff,
        // e_phentsize, e_phnum; p_type, p_offset, p_filesz.
        return FindInTable(elf, new(TableAt: 40, EntrySizeAt: 58, CountAt: 60, MinimumEntry: 64, ShtNote, TypeAt: 4, OffsetAt: 24, SizeAt: 32))
            ?? FindInTable(elf, new(TableAt: 32, EntrySizeAt: 54, CountAt: 56, MinimumEntry: 56, PtNote, TypeAt: 0, OffsetAt: 8, SizeAt: 32));
    }

    /// <summary>The build ID of the file at <paramref name="path"/>, or null when it has none.</summary>
    public static string? Read(string path) => Read(File.ReadAllBytes(path));

    /// <summary>Where a header table (sections or segments) and its entries' fields are, and which entry type holds notes.</summary>
    private readonly record struct HeaderTable(int TableAt, int EntrySizeAt, int CountAt, int MinimumEntry, uint NoteType, int TypeAt, int OffsetAt, int SizeAt);

    /// <summary>The build ID in the notes of a header table's note entries.</summary>
    private static string? FindInTable(ReadOnlySpan<byte> elf, HeaderTable layout)
    {
        long table = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf[layout.TableAt..]);
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(elf[layout.EntrySizeAt..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(elf[layout.CountAt..]);
        if (count > 0 && (entrySize < layout.MinimumEntry || table < 0 || table + (long)entrySize * count > elf.Length))
        {
            throw new InvalidDataException("the ELF headers lie outside the file");
        }
        for (int i = 0; i < count; i++)
        {
            var entry = elf.Slice((int)table + i * entrySize, entrySize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(entry[layout.TypeAt..]) != layout.NoteType)
            {
                continue;
            }
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(entry[layout.OffsetAt..]);
            ulong size = BinaryPrimitives.ReadUInt64LittleEndian(entry[layout.SizeAt..]);
            if (offset > (ulong)elf.Length || size > (ulong)elf.Length - offset)
            {
                throw new InvalidDataException("a note lies outside the file");
            }
            if (FindBuildId(elf.Slice((int)offset, (int)size)) is { } id)
            {
                return id;
            }
        }
        return null;
    }

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
