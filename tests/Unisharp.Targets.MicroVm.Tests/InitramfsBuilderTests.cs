using Unisharp.Cli.Images;
using Unisharp.Testing;

namespace Unisharp.Targets.MicroVm.Tests;

public sealed class InitramfsBuilderTests
{
    // Any dynamically linked executable of this machine stands in for a NativeAOT app: same glibc, same loader.
    private static string DynamicExecutable => File.Exists("/usr/bin/env") ? "/usr/bin/env" : "/bin/ls";

    [Fact]
    public void ReadDirect_DynamicExecutable_FindsInterpreterAndLibc()
    {
        var (interpreter, needed) = ElfDependencies.ReadDirect(File.ReadAllBytes(DynamicExecutable));

        Assert.NotNull(interpreter);
        Assert.Contains("ld-linux", interpreter);
        Assert.Contains("libc.so.6", needed);
    }

    [Fact]
    public void FindLibraries_ExecutableNamingOpenSsl_AddsWhatTheRuntimeOpensItself()
    {
        // A NativeAOT app that hashes (block-copy --verify) names libssl.so.3 for dlopen; its ELF headers do not.
        string work = Directory.CreateTempSubdirectory("unisharp-ssl-").FullName;
        try
        {
            string app = Path.Combine(work, "app");
            File.WriteAllBytes(app, [.. File.ReadAllBytes(DynamicExecutable), .. "libssl.so.3\0"u8]);
            var plain = new InitramfsBuilder(DynamicExecutable).FindLibraries().Select(f => Path.GetFileName(f.GuestPath)).ToList();
            var withSsl = new InitramfsBuilder(app).FindLibraries().Select(f => Path.GetFileName(f.GuestPath)).ToList();

            Assert.DoesNotContain("libssl.so.3", plain);
            Assert.Contains("libssl.so.3", withSsl);
            Assert.Contains("libcrypto.so.3", withSsl);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void ReadDirect_NotElf_ThrowsInvalidData()
    {
        Assert.Throws<InvalidDataException>(() => ElfDependencies.ReadDirect("#!/bin/sh\nexit 0\n"u8.ToArray().Concat(new byte[64]).ToArray()));
        Assert.Throws<InvalidDataException>(() => ElfDependencies.ReadDirect(new byte[10]));
    }

    [Fact]
    public void Resolve_DynamicExecutable_ListsInterpreterFirstAndEveryLibraryOnce()
    {
        var files = ElfDependencies.Resolve(DynamicExecutable);

        Assert.Contains("ld-linux", files[0].GuestPath);
        Assert.Contains(files, f => Path.GetFileName(f.GuestPath) == "libc.so.6");
        Assert.Equal(files.Count, files.Select(f => Path.GetFileName(f.GuestPath)).Distinct().Count());
        Assert.All(files, f => Assert.True(File.Exists(f.HostPath)));
    }

    [Fact]
    public void Resolve_LibraryMissing_ThrowsFileNotFound()
    {
        string empty = Directory.CreateTempSubdirectory("unisharp-nolib-").FullName;
        try
        {
            Assert.Throws<FileNotFoundException>(() => ElfDependencies.Resolve(DynamicExecutable, [empty]));
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    [Fact]
    public void WriteTo_DynamicExecutable_HoldsInitLibrariesConsoleAndMountPoints()
    {
        string extra = Path.GetTempFileName();
        File.WriteAllText(extra, "extra");
        try
        {
            var builder = new InitramfsBuilder(DynamicExecutable).AddFile("etc/motd", extra);
            using var image = new MemoryStream();
            builder.WriteTo(image);
            image.Position = 0;
            var entries = CpioReader.ReadGzip(image).ToDictionary(e => e.Name);

            Assert.Equal(File.ReadAllBytes(DynamicExecutable), entries["init"].Data);
            Assert.Equal(0x1ED, entries["init"].Permissions);
            Assert.True(entries["dev/console"].IsCharacterDevice);
            Assert.Equal((5, 1), (entries["dev/console"].RdevMajor, entries["dev/console"].RdevMinor));
            // The .NET runtime reads /dev/urandom before devtmpfs is mounted (and never again when it was missing).
            Assert.True(entries["dev/urandom"].IsCharacterDevice);
            Assert.Equal((1, 9), (entries["dev/urandom"].RdevMajor, entries["dev/urandom"].RdevMinor));
            foreach (string dir in new[] { "dev", "proc", "sys", "tmp", "etc" })
            {
                Assert.True(entries[dir].IsDirectory, dir);
            }
            Assert.Equal("extra"u8.ToArray(), entries["etc/motd"].Data);
            foreach (var (guest, host) in builder.FindLibraries())
            {
                string name = guest.TrimStart('/');
                Assert.Equal(File.ReadAllBytes(host), entries[name].Data);
                // Every parent directory precedes the file, so the kernel can create it.
                string parent = Path.GetDirectoryName(name)!;
                Assert.True(entries[parent].IsDirectory, parent);
            }
        }
        finally
        {
            File.Delete(extra);
        }
    }

    [Fact]
    public void WriteTo_SameInputsTwice_GivesTheSameBytes()
    {
        var builder = new InitramfsBuilder(DynamicExecutable);
        using var first = new MemoryStream();
        using var second = new MemoryStream();
        builder.WriteArchive(first);
        builder.WriteArchive(second);

        Assert.Equal(first.ToArray(), second.ToArray());
    }

    [CpioFact]
    public void WriteArchive_DynamicExecutable_GnuCpioListsIt()
    {
        using var archive = new MemoryStream();
        new InitramfsBuilder(DynamicExecutable).WriteArchive(archive);

        string[] names = CpioWriterTests.RunCpio(archive.ToArray(), "-t", "--quiet").Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Contains("init", names);
        Assert.Contains("dev/console", names);
        Assert.Contains(names, n => n.EndsWith("libc.so.6", StringComparison.Ordinal));
    }

    /// <summary>Our LZ4 legacy frames, unpacked by the lz4 tool: edge cases of the format and an initramfs.</summary>
    [Lz4Fact]
    public void Lz4Compress_VariedInputs_Lz4ToolRestoresEachExactly()
    {
        var random = new Random(5);
        byte[] noise = new byte[100_000];
        random.NextBytes(noise);
        // Over 8 MiB, so it spans two blocks; repetitive with distances near and beyond the 64 KiB window.
        byte[] large = new byte[Lz4Legacy.BlockSize + 300_000];
        for (int i = 0; i < large.Length; i += 4096)
        {
            random.NextBytes(large.AsSpan(i, Math.Min(512, large.Length - i)));
        }
        using var archive = new MemoryStream();
        new InitramfsBuilder(DynamicExecutable).WriteArchive(archive);
        var inputs = new (string Name, byte[] Data)[]
        {
            ("empty", []),
            ("one byte", [42]),
            ("twelve bytes", "abcdabcdabcd"u8.ToArray()),
            ("text", System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog ", 40)))),
            ("zeros", new byte[70_000]),
            ("noise", noise),
            ("large", large),
            ("initramfs", archive.ToArray()),
        };
        string work = Directory.CreateTempSubdirectory("unisharp-lz4-").FullName;
        try
        {
            foreach (var (name, data) in inputs)
            {
                string compressed = Path.Combine(work, "in.lz4"), restored = Path.Combine(work, "out");
                using (var file = File.Create(compressed))
                {
                    Lz4Legacy.Compress(data, file);
                }
                var result = HostCommand.Run("lz4", ["-d", "-f", "-q", compressed, restored], TimeSpan.FromSeconds(60));

                Assert.True(result.ExitCode == 0, $"{name}: lz4 -d failed: {result.Stderr}");
                Assert.True(data.AsSpan().SequenceEqual(File.ReadAllBytes(restored)), $"{name}: lz4 -d gave other bytes");
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The hash chains with lazy matching find matches about as well as lz4's high-compression mode (lz4 -l -9).</summary>
    [Lz4Fact]
    public void WriteTo_Lz4_WithinTwoPercentOfLz4Nine()
    {
        string work = Directory.CreateTempSubdirectory("unisharp-lz4-").FullName;
        try
        {
            string raw = Path.Combine(work, "initramfs.cpio"), theirs = Path.Combine(work, "theirs.lz4");
            var builder = new InitramfsBuilder(DynamicExecutable) { Format = InitramfsFormat.Lz4 };
            using (var file = File.Create(raw))
            {
                builder.WriteArchive(file);
            }
            long ours = builder.WriteTo(Path.Combine(work, "ours.lz4"));
            var result = HostCommand.Run("lz4", ["-l", "-9", "-f", "-q", raw, theirs], TimeSpan.FromSeconds(120));
            Assert.Equal(0, result.ExitCode);
            long reference = new FileInfo(theirs).Length;

            Assert.True(ours <= reference * 102 / 100, $"ours {ours} bytes, lz4 -l -9 {reference} bytes");
            Assert.True(ours < new FileInfo(raw).Length * 3 / 4, $"ours {ours} bytes for {new FileInfo(raw).Length} bytes of archive");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}

/// <summary>A test that checks our LZ4 frames with the lz4 tool (Debian package lz4); skipped without it.</summary>
internal sealed class Lz4FactAttribute : FactAttribute
{
    public Lz4FactAttribute()
    {
        if (RepositoryPaths.FindTool("lz4") is null)
        {
            Skip = "needs the lz4 tool (apt-get install lz4)";
        }
    }
}
