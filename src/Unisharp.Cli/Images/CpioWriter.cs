using System.Text;

namespace Unisharp.Cli.Images;

/// <summary>
/// Writes a cpio archive in the "newc" format (SVR4 with no CRC), the format the Linux kernel unpacks as
/// its initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
/// </summary>
/// <remarks>
/// Each entry is a 110-byte ASCII header (magic "070701" and thirteen 8-digit hex fields), the NUL-terminated
/// name padded so that the data starts on a 4-byte boundary, then the data padded to 4 bytes. Names are
/// written without a leading slash. Call <see cref="Finish"/> (or dispose) to write the trailer. Every entry
/// gets a fresh inode number, owner root and a fixed modification time, so the same inputs give the same bytes.
/// </remarks>
public sealed class CpioWriter : IDisposable
{
    /// <summary>The name of the entry that ends an archive.</summary>
    public const string TrailerName = "TRAILER!!!";

    internal const int HeaderLength = 110;
    internal const string Magic = "070701";

    // File types of st_mode (POSIX <sys/stat.h>).
    internal const int TypeMask = 0xF000;
    internal const int TypeDirectory = 0x4000;
    internal const int TypeRegular = 0x8000;
    internal const int TypeSymlink = 0xA000;
    internal const int TypeCharacterDevice = 0x2000;
    internal const int TypeBlockDevice = 0x6000;

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly uint _modificationTime;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly byte[] _header = new byte[HeaderLength];
    private uint _nextInode = 1;
    private long _position;
    private bool _finished;

    /// <param name="output">Where the archive goes (not compressed: wrap it in a GZipStream for that).</param>
    /// <param name="leaveOpen">Leave <paramref name="output"/> open when this writer is disposed.</param>
    /// <param name="modificationTime">The mtime of every entry, in seconds since 1970; 0 keeps archives reproducible.</param>
    public CpioWriter(Stream output, bool leaveOpen = false, uint modificationTime = 0)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        _leaveOpen = leaveOpen;
        _modificationTime = modificationTime;
    }

    /// <summary>Adds a directory; its parents must be added first for the kernel to create it.</summary>
    public void AddDirectory(string path, int permissions = 0x1ED /* 0755 */) =>
        WriteEntry(path, TypeDirectory | Permissions(permissions), nlink: 2, 0, 0, ReadOnlySpan<byte>.Empty);

    /// <summary>Adds a regular file holding <paramref name="contents"/>.</summary>
    public void AddFile(string path, ReadOnlySpan<byte> contents, int permissions = 0x1A4 /* 0644 */) =>
        WriteEntry(path, TypeRegular | Permissions(permissions), nlink: 1, 0, 0, contents);

    /// <summary>Adds a regular file with the contents of the host file <paramref name="sourcePath"/>.</summary>
    public void AddFileFrom(string path, string sourcePath, int permissions)
    {
        using var source = File.OpenRead(sourcePath);
        long length = source.Length;
        if (length > uint.MaxValue)
        {
            throw new ArgumentException($"{sourcePath} is {length} bytes, over the 4 GiB a newc entry holds");
        }
        WriteHeader(path, TypeRegular | Permissions(permissions), nlink: 1, (uint)length, 0, 0);
        long copied = 0;
        byte[] buffer = new byte[81920];
        int n;
        while (copied < length && (n = source.Read(buffer, 0, (int)Math.Min(buffer.Length, length - copied))) > 0)
        {
            _output.Write(buffer, 0, n);
            copied += n;
        }
        if (copied != length)
        {
            throw new IOException($"{sourcePath} changed while it was archived");
        }
        _position += length;
        Pad();
    }

    /// <summary>Adds a symbolic link at <paramref name="path"/> pointing to <paramref name="target"/>.</summary>
    public void AddSymlink(string path, string target)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        WriteEntry(path, TypeSymlink | 0x1FF, nlink: 1, 0, 0, Encoding.UTF8.GetBytes(target));
    }

    /// <summary>Adds a character device node, such as <c>/dev/console</c> (5, 1).</summary>
    public void AddCharacterDevice(string path, int major, int minor, int permissions = 0x180 /* 0600 */) =>
        WriteEntry(path, TypeCharacterDevice | Permissions(permissions), nlink: 1, Device(major), Device(minor), ReadOnlySpan<byte>.Empty);

    /// <summary>Adds a block device node.</summary>
    public void AddBlockDevice(string path, int major, int minor, int permissions = 0x180 /* 0600 */) =>
        WriteEntry(path, TypeBlockDevice | Permissions(permissions), nlink: 1, Device(major), Device(minor), ReadOnlySpan<byte>.Empty);

    /// <summary>Writes the trailer entry; nothing may be added afterwards. Called by <see cref="Dispose"/> if need be.</summary>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }
        // The trailer has nlink 1 and every other field zero, as GNU cpio writes it.
        WriteHeaderRaw(TrailerName, inode: 0, mode: 0, nlink: 1, 0, 0, 0, 0);
        _finished = true;
        _output.Flush();
    }

    public void Dispose()
    {
        Finish();
        if (!_leaveOpen)
        {
            _output.Dispose();
        }
    }

    /// <summary>The archive name of <paramref name="path"/>: no leading slash, no empty or dot components.</summary>
    internal static string NormalizeName(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or ".."))
        {
            throw new ArgumentException($"'{path}' is not a path inside the archive", nameof(path));
        }
        return string.Join('/', parts);
    }

    private static uint Permissions(int permissions) =>
        permissions is >= 0 and <= 0xFFF ? (uint)permissions : throw new ArgumentOutOfRangeException(nameof(permissions), "permissions are the low 12 bits of a mode (e.g. 0755)");

    private static uint Device(int number) =>
        number >= 0 ? (uint)number : throw new ArgumentOutOfRangeException(nameof(number), "a device number is not negative");

    private void WriteEntry(string path, uint mode, uint nlink, uint rdevMajor, uint rdevMinor, ReadOnlySpan<byte> data)
    {
        WriteHeader(path, mode, nlink, (uint)data.Length, rdevMajor, rdevMinor);
        _output.Write(data);
        _position += data.Length;
        Pad();
    }

    private void WriteHeader(string path, uint mode, uint nlink, uint fileSize, uint rdevMajor, uint rdevMinor)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        string name = NormalizeName(path);
        if (name == TrailerName)
        {
            throw new ArgumentException($"'{TrailerName}' is reserved for the end of the archive", nameof(path));
        }
        if (!_names.Add(name))
        {
            throw new ArgumentException($"'{name}' is already in the archive", nameof(path));
        }
        WriteHeaderRaw(name, _nextInode++, mode, nlink, fileSize, _modificationTime, rdevMajor, rdevMinor);
    }

    private void WriteHeaderRaw(string name, uint inode, uint mode, uint nlink, uint fileSize, uint mtime, uint rdevMajor, uint rdevMinor)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        Span<byte> h = _header;
        Encoding.ASCII.GetBytes(Magic, h);
        // Fields in order: ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check.
        ReadOnlySpan<uint> fields = [inode, mode, 0, 0, nlink, mtime, fileSize, 0, 0, rdevMajor, rdevMinor, (uint)nameBytes.Length + 1, 0];
        for (int i = 0; i < fields.Length; i++)
        {
            fields[i].TryFormat(h.Slice(6 + i * 8, 8), out _, "X8");
        }
        _output.Write(h);
        _output.Write(nameBytes);
        _output.WriteByte(0);
        _position += HeaderLength + nameBytes.Length + 1;
        Pad();
    }

    private void Pad()
    {
        int pad = (int)(-_position & 3);
        if (pad > 0)
        {
            _output.Write(stackalloc byte[pad]);
            _position += pad;
        }
    }
}
