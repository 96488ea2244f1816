using System.Security.Cryptography;
using Unisharp.Testing;
using Xunit.Abstractions;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// examples/block-copy as PID 1 of our kernel on QEMU <c>-M pc</c> (TCG) with two virtio-blk disks backed by host
/// files (<c>cache=none</c>): the guest opens /dev/vda and /dev/vdb with O_DIRECT and io_uring, within the limits
/// in /sys/block/vdX/queue, copies one onto the other, and the host checks the files byte for byte (sha256).
/// </summary>
public sealed class GuestBlockCopyTests(BlockCopyImageFixture image, ITestOutputHelper output) : IClassFixture<BlockCopyImageFixture>, IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(4);

    private readonly string _directory = Directory.CreateTempSubdirectory("unisharp-guest-copy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [BootFact]
    public void Copy_Parallel50Sectors_DisksEqualOnTheHost() => CopiesByteExact(buffsize: 50, parallel: true, mib: 16);

    [BootFact]
    public void Copy_Parallel7Sectors_DisksEqualOnTheHost() => CopiesByteExact(buffsize: 7, parallel: true, mib: 8);

    [BootFact]
    public void Copy_Serial2000Sectors_DisksEqualOnTheHost() => CopiesByteExact(buffsize: 2000, parallel: false, mib: 8);

    private void CopiesByteExact(int buffsize, bool parallel, int mib)
    {
        string from = MakeDisk("disk0.img", mib, seed: buffsize);
        string to = MakeDisk("disk1.img", mib, seed: buffsize + 1);
        string expected = Sha256(from);
        Assert.NotEqual(expected, Sha256(to));

        // Not --verify: .NET's SHA-256 needs libssl, which the initramfs does not carry; the host checks instead.
        var result = Boot($"disk.0=vda disk.1=vdb --buffsize={buffsize} --parallel={(parallel ? "true" : "false")}", from, to);

        // isa-debug-exit: QEMU exits with (code << 1) | 1, so 1 is the guest's exit code 0.
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("done: ", result.Stdout);
        // The guest's disks fall back with a warning when O_DIRECT or io_uring is refused: neither may happen.
        Assert.DoesNotContain("through the page cache", result.Stdout);
        Assert.DoesNotContain("using pread/pwrite", result.Stdout);
        Assert.Equal(expected, Sha256(from));
        Assert.Equal(expected, Sha256(to));
    }

    private string MakeDisk(string name, int mib, int seed)
    {
        string path = Path.Combine(_directory, name);
        var bytes = new byte[mib * 1024 * 1024];
        new Random(seed).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private HostCommand.Result Boot(string words, string disk0, string disk1)
    {
        string kernel = Path.Combine(BootFactAttribute.KernelDirectory.Value!, "vmlinux");
        var arguments = new List<string>
        {
            "-M", "pc", "-accel", "tcg", "-m", "256", "-smp", "1", "-nographic", "-no-reboot", "-nodefaults",
            "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-kernel", kernel, "-initrd", image.Initrd, "-append", $"console=ttyS0 panic=-1 quiet {words}",
        };
        arguments.AddRange(QemuGuest.PcFirmware("pc", kernel));
        for (int i = 0; i < 2; i++)
        {
            arguments.AddRange(["-drive", $"file={(i == 0 ? disk0 : disk1)},format=raw,if=none,id=d{i},cache=none",
                "-device", $"virtio-blk-pci,drive=d{i}"]);
        }
        var result = HostCommand.Run("qemu-system-x86_64", arguments, s_timeout);
        output.WriteLine($"qemu {HostCommand.Describe(arguments)}\nexit status {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");
        return result;
    }
}
