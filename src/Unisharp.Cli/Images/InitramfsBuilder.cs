using System.IO.Compression;

namespace Unisharp.Cli.Images;

/// <summary>
/// Makes the initramfs of a microVM image: the app's NativeAOT executable as <c>/init</c> (the kernel runs it
/// as PID 1), the interpreter and shared libraries it needs at their usual paths, <c>/dev/console</c> (so
/// the kernel can give init its standard streams before anything is mounted), <c>/dev/urandom</c> (which the .NET
/// runtime opens before then) and the empty mount points
/// <c>/dev</c>, <c>/proc</c>, <c>/sys</c> and <c>/tmp</c>; as a newc cpio archive, compressed with gzip or LZ4.
/// </summary>
/// <remarks>
/// The libraries are found from the executable's ELF headers (<see cref="ElfDependencies"/>), as ld.so finds
/// them; a glibc NativeAOT app needs ld-linux-x86-64.so.2, libc.so.6 and libm.so.6.
/// </remarks>
public sealed class InitramfsBuilder
{
    private readonly string _executablePath;
    private readonly List<(string GuestPath, string HostPath, int Permissions)> _extraFiles = [];

    /// <param name="executablePath">The app's executable on this machine (the output of a NativeAOT publish).</param>
    public InitramfsBuilder(string executablePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(executablePath);
        _executablePath = Path.GetFullPath(executablePath);
    }

    /// <summary>The gzip level; <see cref="CompressionLevel.Optimal"/> by default.</summary>
    public CompressionLevel Compression { get; init; } = CompressionLevel.Optimal;

    /// <summary>gzip (the default) or LZ4, which the kernel unpacks much faster.</summary>
    public InitramfsFormat Format { get; init; } = InitramfsFormat.Gzip;

    /// <summary>Where to look for shared libraries; <see cref="ElfDependencies.DefaultLibraryDirectories"/> when null.</summary>
    public IReadOnlyList<string>? LibraryDirectories { get; init; }

    /// <summary>Adds a file of this machine at <paramref name="guestPath"/> in the image.</summary>
    public InitramfsBuilder AddFile(string guestPath, string hostPath, int permissions = 0x1A4 /* 0644 */)
    {
        _extraFiles.Add((guestPath, hostPath, permissions));
        return this;
    }

    /// <summary>The interpreter and libraries the executable needs, as (path in the guest, file on this machine).</summary>
    /// <exception cref="FileNotFoundException">A library is missing on this machine.</exception>
    public IReadOnlyList<(string GuestPath, string HostPath)> FindLibraries() =>
        ElfDependencies.Resolve(_executablePath, LibraryDirectories, LoadedAtRunTime(_executablePath, LibraryDirectories ?? ElfDependencies.DefaultLibraryDirectories));

    /// <summary>
    /// Libraries the .NET runtime opens with dlopen rather than through the ELF headers: OpenSSL, for the app's
    /// cryptography (SHA-256, TLS). They go into the image when the executable names them and this machine has them.
    /// </summary>
    public static IReadOnlyList<string> LoadedAtRunTime(string executablePath, IReadOnlyList<string> libraryDirectories)
    {
        byte[] image = File.ReadAllBytes(executablePath);
        string[] openSsl = ["libssl.so.3", "libcrypto.so.3"];
        return image.AsSpan().IndexOf("libssl.so.3"u8) >= 0 && openSsl.All(l => libraryDirectories.Any(d => File.Exists(Path.Combine(d, l))))
            ? openSsl
            : [];
    }

    /// <summary>Writes the compressed image to <paramref name="path"/>, replacing it; returns its size in bytes.</summary>
    public long WriteTo(string path)
    {
        string temporary = path + ".tmp";
        using (var file = File.Create(temporary))
        {
            WriteTo(file);
        }
        File.Move(temporary, path, overwrite: true);
        return new FileInfo(path).Length;
    }

    /// <summary>Writes the compressed image to <paramref name="output"/>, which is left open.</summary>
    public void WriteTo(Stream output)
    {
        if (Format == InitramfsFormat.Lz4)
        {
            using var archive = new MemoryStream();
            WriteArchive(archive);
            Lz4Legacy.Compress(archive.GetBuffer().AsSpan(0, (int)archive.Length), output);
            return;
        }
        using var gzip = new GZipStream(output, Compression, leaveOpen: true);
        WriteArchive(gzip);
    }

    /// <summary>Writes the uncompressed cpio archive to <paramref name="output"/>, which is left open.</summary>
    public void WriteArchive(Stream output)
    {
        var libraries = FindLibraries();
        using var cpio = new CpioWriter(output, leaveOpen: true);
        var directories = new HashSet<string>(StringComparer.Ordinal);
        foreach (string mountPoint in (ReadOnlySpan<string>)["dev", "proc", "sys", "tmp"])
        {
            AddDirectories(cpio, directories, mountPoint + "/x");
        }
        // The kernel opens /dev/console of the initramfs as init's stdin, stdout and stderr (init/main.c,
        // console_on_rootfs) before init can mount devtmpfs; without it the app starts with no output.
        cpio.AddCharacterDevice("dev/console", major: 5, minor: 1);
        // The .NET runtime opens /dev/urandom the first time it needs random bytes, which is before the app can mount
        // devtmpfs (NativeAOT's startup seeds its hashing then); when it is missing, the runtime never tries it again, and
        // everything cryptographically random fails for the process's life: Guid.NewGuid (ASP.NET Core's first request),
        // RandomNumberGenerator. Devtmpfs later hides this node; the runtime keeps the descriptor it opened.
        cpio.AddCharacterDevice("dev/urandom", major: 1, minor: 9, permissions: 0x1A4 /* 0644 */);
        cpio.AddFileFrom("init", _executablePath, permissions: 0x1ED /* 0755 */);
        foreach (var (guestPath, hostPath) in libraries)
        {
            AddDirectories(cpio, directories, guestPath);
            cpio.AddFileFrom(guestPath, hostPath, permissions: 0x1ED);
        }
        foreach (var (guestPath, hostPath, permissions) in _extraFiles)
        {
            AddDirectories(cpio, directories, guestPath);
            cpio.AddFileFrom(guestPath, hostPath, permissions);
        }
        cpio.Finish();
    }

    /// <summary>Adds every parent directory of <paramref name="path"/> not yet in the archive, outermost first.</summary>
    private static void AddDirectories(CpioWriter cpio, HashSet<string> directories, string path)
    {
        string[] parts = CpioWriter.NormalizeName(path).Split('/');
        for (int i = 1; i < parts.Length; i++)
        {
            string directory = string.Join('/', parts, 0, i);
            if (directories.Add(directory))
            {
                cpio.AddDirectory(directory, directory == "tmp" ? 0x3FF /* 1777 */ : 0x1ED);
            }
        }
    }
}
