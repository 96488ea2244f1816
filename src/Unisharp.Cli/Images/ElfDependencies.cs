using System.Buffers.Binary;
using System.Text;

namespace Unisharp.Cli.Images;

/// <summary>
/// What a dynamically linked ELF executable needs at run time, read from its headers the way ld.so reads
/// them: the interpreter (PT_INTERP) and the shared libraries (DT_NEEDED of PT_DYNAMIC), followed
/// through every library. Only 64-bit little-endian ELF (x86_64, arm64) is read.
/// </summary>
public static class ElfDependencies
{
    /// <summary>Where ld.so looks for libraries when it has no cache (Debian's multiarch directories first).</summary>
    public static readonly IReadOnlyList<string> DefaultLibraryDirectories =
    [
        "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
        "/lib64", "/usr/lib64", "/lib", "/usr/lib",
    ];

    // ELF-64 object file format (System V gABI, "ELF Header", "Program Header", "Dynamic Section").
    private const int PtLoad = 1;
    private const int PtDynamic = 2;
    private const int PtInterp = 3;
    private const long DtNull = 0;
    private const long DtNeeded = 1;
    private const long DtStrtab = 5;

    /// <summary>The interpreter and library names (DT_NEEDED) of one ELF file.</summary>
    /// <exception cref="InvalidDataException">The file is not a 64-bit little-endian ELF file.</exception>
    public static (string? Interpreter, IReadOnlyList<string> Needed) ReadDirect(ReadOnlySpan<byte> elf)
    {
        CheckHeader(elf);
        long phoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf[32..]);
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[54..]);
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[56..]);
        if (phentsize < 56 || phoff < 0 || phoff + (long)phentsize * phnum > elf.Length)
        {
            throw new InvalidDataException("the program headers lie outside the file");
        }

        string? interpreter = null;
        var loads = new List<(ulong Vaddr, ulong Offset, ulong Size)>();
        (ulong Offset, ulong Size)? dynamic = null;
        for (int i = 0; i < phnum; i++)
        {
            var ph = elf.Slice((int)phoff + i * phentsize, phentsize);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(ph);
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            ulong vaddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[16..]);
            ulong filesz = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            switch (type)
            {
                case PtInterp:
                    interpreter = CString(Slice(elf, offset, filesz));
                    break;
                case PtLoad:
                    loads.Add((vaddr, offset, filesz));
                    break;
                case PtDynamic:
                    dynamic = (offset, filesz);
                    break;
            }
        }
        var needed = new List<string>();
        if (dynamic is { } dyn)
        {
            var table = Slice(elf, dyn.Offset, dyn.Size);
            var neededOffsets = new List<ulong>();
            ulong? strtab = null;
            for (int at = 0; at + 16 <= table.Length; at += 16)
            {
                long tag = BinaryPrimitives.ReadInt64LittleEndian(table[at..]);
                ulong value = BinaryPrimitives.ReadUInt64LittleEndian(table[(at + 8)..]);
                if (tag == DtNull)
                {
                    break;
                }
                if (tag == DtNeeded)
                {
                    neededOffsets.Add(value);
                }
                else if (tag == DtStrtab)
                {
                    strtab = value;
                }
            }
            if (neededOffsets.Count > 0)
            {
                // DT_STRTAB is a virtual address: find the loaded segment holding it to get its file offset.
                ulong strtabOffset = strtab is { } address
                    ? loads.Where(l => address >= l.Vaddr && address < l.Vaddr + l.Size).Select(l => (ulong?)(address - l.Vaddr + l.Offset)).FirstOrDefault()
                        ?? throw new InvalidDataException("DT_STRTAB is outside every loaded segment")
                    : throw new InvalidDataException("DT_NEEDED without DT_STRTAB");
                foreach (ulong name in neededOffsets)
                {
                    needed.Add(CString(Slice(elf, strtabOffset + name, (ulong)elf.Length - Math.Min((ulong)elf.Length, strtabOffset + name))));
                }
            }
        }
        return (interpreter, needed);
    }

    /// <exception cref="InvalidDataException">The file is not a 64-bit little-endian ELF file.</exception>
    internal static void CheckHeader(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < 64 || !elf[..4].SequenceEqual((ReadOnlySpan<byte>)[0x7F, (byte)'E', (byte)'L', (byte)'F']))
        {
            throw new InvalidDataException("not an ELF file");
        }
        if (elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException("not a 64-bit little-endian ELF file");
        }
    }

    /// <summary>
    /// Every file the executable needs to start: the interpreter and all shared libraries, transitively,
    /// as (path in the guest, path on this machine to copy it from). A statically linked executable needs nothing.
    /// </summary>
    /// <param name="executablePath">The executable on this machine.</param>
    /// <param name="libraryDirectories">Where to look for libraries; <see cref="DefaultLibraryDirectories"/> by default.</param>
    /// <exception cref="FileNotFoundException">A library is in none of the directories.</exception>
    /// <param name="alsoNeeded">Libraries the executable loads itself at run time (dlopen), resolved with theirs.</param>
    public static IReadOnlyList<(string GuestPath, string HostPath)> Resolve(string executablePath, IReadOnlyList<string>? libraryDirectories = null,
        IEnumerable<string>? alsoNeeded = null)
    {
        libraryDirectories ??= DefaultLibraryDirectories;
        var result = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<(string Path, string From)>();
        var (interpreter, needed) = ReadDirect(File.ReadAllBytes(executablePath));
        if (interpreter is not null)
        {
            if (!File.Exists(interpreter))
            {
                throw new FileNotFoundException($"{executablePath} needs the interpreter {interpreter}, which is not on this machine", interpreter);
            }
            // The interpreter is loaded by the kernel at exactly this path; keep it there.
            seen.Add(Path.GetFileName(interpreter));
            result.Add((interpreter, interpreter));
        }
        foreach (string name in needed.Concat(alsoNeeded ?? []))
        {
            pending.Enqueue((name, executablePath));
        }
        while (pending.Count > 0)
        {
            var (name, from) = pending.Dequeue();
            if (!seen.Add(name))
            {
                continue;
            }
            string host = libraryDirectories.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists)
                ?? throw new FileNotFoundException($"{from} needs {name}, which is in none of {string.Join(", ", libraryDirectories)}", name);
            // The guest has no ld.so.cache: keep each library in the directory it was found in, one of those
            // ld.so searches by default.
            result.Add((host, host));
            foreach (string next in ReadDirect(File.ReadAllBytes(host)).Needed)
            {
                pending.Enqueue((next, host));
            }
        }
        return result;
    }

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> elf, ulong offset, ulong size)
    {
        if (offset > (ulong)elf.Length || size > (ulong)elf.Length - offset)
        {
            throw new InvalidDataException("an ELF segment lies outside the file");
        }
        return elf.Slice((int)offset, (int)size);
    }

    private static string CString(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }
}
