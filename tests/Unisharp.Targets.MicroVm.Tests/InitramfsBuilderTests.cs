using Unisharp.Cli.Images;

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
}
