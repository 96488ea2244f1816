using System.Diagnostics;
using System.Text;
using Unisharp.Cli.Images;

namespace Unisharp.Targets.MicroVm.Tests;

public sealed class CpioWriterTests
{
    private static byte[] Archive(Action<CpioWriter> fill)
    {
        using var output = new MemoryStream();
        using (var cpio = new CpioWriter(output, leaveOpen: true))
        {
            fill(cpio);
        }
        return output.ToArray();
    }

    private static byte[] Sample() => Archive(cpio =>
    {
        cpio.AddDirectory("dev");
        cpio.AddCharacterDevice("/dev/console", 5, 1);
        cpio.AddDirectory("lib");
        cpio.AddFile("lib/a.txt", "hello\n"u8);
        cpio.AddFile("/init", Encoding.ASCII.GetBytes("#!/bin/sh\necho hi\n"), 0x1ED);
        cpio.AddFile("empty", ReadOnlySpan<byte>.Empty);
        cpio.AddSymlink("lib64", "lib");
        cpio.AddBlockDevice("dev/vda", 254, 0);
    });

    [Fact]
    public void AddFile_OneFile_WritesNewcHeaderNameAndPaddedData()
    {
        byte[] bytes = Archive(cpio => cpio.AddFile("ab", "xyz"u8, 0x1A4));

        // Header: magic, then ino=1, mode=0100644, uid, gid, nlink=1, mtime, filesize=3, dev 0/0, rdev 0/0, namesize=3, check.
        string header = Encoding.ASCII.GetString(bytes, 0, 110);
        Assert.Equal("070701" + "00000001" + "000081A4" + "00000000" + "00000000" + "00000001" + "00000000" + "00000003"
            + "00000000" + "00000000" + "00000000" + "00000000" + "00000003" + "00000000", header);
        // Name "ab\0" ends at 113: padded to 116; data "xyz" then one byte of padding to 120.
        Assert.Equal("ab\0\0\0\0"u8.ToArray(), bytes[110..116]);
        Assert.Equal("xyz\0"u8.ToArray(), bytes[116..120]);
        Assert.Equal("070701", Encoding.ASCII.GetString(bytes, 120, 6));
        Assert.Equal(0, bytes.Length % 4);
    }

    [Fact]
    public void Finish_EmptyArchive_WritesOnlyTheTrailer()
    {
        byte[] bytes = Archive(_ => { });

        Assert.Equal(124, bytes.Length); // 110 + "TRAILER!!!\0" (11) = 121, padded to 124
        Assert.Equal("TRAILER!!!", Encoding.ASCII.GetString(bytes, 110, 10));
        Assert.Equal("00000001", Encoding.ASCII.GetString(bytes, 6 + 4 * 8, 8)); // nlink
        Assert.Empty(CpioReader.Read(bytes));
    }

    [Fact]
    public void Read_SampleArchive_RoundTripsEveryEntry()
    {
        var entries = CpioReader.Read(Sample());

        Assert.Equal(["dev", "dev/console", "lib", "lib/a.txt", "init", "empty", "lib64", "dev/vda"], entries.Select(e => e.Name));
        Assert.True(entries[0].IsDirectory);
        Assert.Equal(0x1ED, entries[0].Permissions);
        Assert.True(entries[1].IsCharacterDevice);
        Assert.Equal((5, 1), (entries[1].RdevMajor, entries[1].RdevMinor));
        Assert.Equal("hello\n"u8.ToArray(), entries[3].Data);
        Assert.True(entries[4].IsRegularFile);
        Assert.Equal(0x1ED, entries[4].Permissions);
        Assert.Empty(entries[5].Data);
        Assert.True(entries[6].IsSymlink);
        Assert.Equal("lib", Encoding.UTF8.GetString(entries[6].Data));
        Assert.True(entries[7].IsBlockDevice);
        Assert.Equal((254, 0), (entries[7].RdevMajor, entries[7].RdevMinor));
        Assert.Equal(entries.Count, entries.Select(e => e.Inode).Distinct().Count());
    }

    [Fact]
    public void AddFile_SameNameTwice_Throws()
    {
        using var cpio = new CpioWriter(new MemoryStream());
        cpio.AddFile("a", "1"u8);

        Assert.Throws<ArgumentException>(() => cpio.AddFile("/a", "2"u8));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("a/../b")]
    [InlineData("TRAILER!!!")]
    public void AddFile_InvalidName_Throws(string name)
    {
        using var cpio = new CpioWriter(new MemoryStream());

        Assert.Throws<ArgumentException>(() => cpio.AddFile(name, "1"u8));
    }

    [Fact]
    public void AddFile_AfterFinish_Throws()
    {
        using var cpio = new CpioWriter(new MemoryStream());
        cpio.Finish();

        Assert.Throws<ObjectDisposedException>(() => cpio.AddFile("a", "1"u8));
    }

    [Fact]
    public void Read_TruncatedArchive_ThrowsInvalidData()
    {
        byte[] bytes = Sample();

        Assert.Throws<InvalidDataException>(() => CpioReader.Read(bytes.AsSpan(0, bytes.Length - 130)));
        Assert.Throws<InvalidDataException>(() => CpioReader.Read("070702"u8));
    }

    [CpioFact]
    public void Write_SampleArchive_GnuCpioListsTheSameEntries()
    {
        string listing = RunCpio(Sample(), "-t", "-v");
        string[] lines = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(8, lines.Length);
        Assert.StartsWith("drwxr-xr-x", lines[0]);
        Assert.EndsWith(" dev", lines[0]);
        Assert.StartsWith("crw-------", lines[1]);
        Assert.Contains("5,", lines[1]);
        Assert.EndsWith(" dev/console", lines[1]);
        Assert.StartsWith("-rw-r--r--", lines[3]);
        Assert.EndsWith(" lib/a.txt", lines[3]);
        Assert.StartsWith("-rwxr-xr-x", lines[4]);
        Assert.StartsWith("lrwxrwxrwx", lines[6]);
        Assert.EndsWith(" lib64 -> lib", lines[6]);
        Assert.StartsWith("brw-------", lines[7]);
    }

    [CpioFact]
    public void Write_SampleArchive_GnuCpioExtractsTheFileContents()
    {
        string directory = Directory.CreateTempSubdirectory("unisharp-cpio-").FullName;
        try
        {
            // -f: extract everything but the device nodes (dev/*).
            RunCpio(Sample(), "-i", "-d", "--quiet", "--no-absolute-filenames", "-f", "-D", directory, "dev/*");

            Assert.Equal("hello\n", File.ReadAllText(Path.Combine(directory, "lib", "a.txt")));
            Assert.Equal("#!/bin/sh\necho hi\n", File.ReadAllText(Path.Combine(directory, "init")));
            Assert.Equal("lib", new FileInfo(Path.Combine(directory, "lib64")).LinkTarget);
            Assert.Equal(0, new FileInfo(Path.Combine(directory, "empty")).Length);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    internal static string RunCpio(byte[] archive, params string[] arguments)
    {
        var start = new ProcessStartInfo("cpio") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.BaseStream.Write(archive);
        process.StandardInput.Close();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"cpio {string.Join(' ', arguments)} failed: {stderr.Result}");
        return stdout.Result;
    }
}
