using Unisharp.Devices;
using Unisharp.Logging;
using Unisharp.Linux;

namespace Unisharp.Block.Tests;

public sealed class FileBlockDeviceTests
{
    [Fact]
    public async Task Open_PlainFile_DirectWithFileDefaults()
    {
        using var file = new TempFile(1024 * 1024, 1);
        await using var disk = FileBlockDevice.Open("0", file.Path);

        Assert.False(disk.IsBlockDevice);
        Assert.Equal(512, disk.Info.SectorSize);
        Assert.Equal(2048, disk.Info.SectorCount);
        Assert.Equal(FileBlockDevice.DefaultMaxRequestBytes, disk.Info.MaxRequestBytes);
        Assert.Equal(FileBlockDevice.DefaultQueueDepth, disk.Info.QueueDepth);
        Assert.True(disk.Info.PhysicalBlockSize >= 512);
        // ext4 and tmpfs on current kernels both take O_DIRECT, and this kernel has io_uring.
        Assert.True(disk.IsDirect);
        Assert.Equal(FileBlockDevice.DirectMemoryAlignment, disk.Info.MemoryAlignment);
        Assert.Equal("io_uring", disk.Engine);
    }

    [Theory]
    [InlineData(true, true, true)]
    [InlineData(true, true, false)]
    [InlineData(true, false, true)]
    [InlineData(false, true, true)]
    [InlineData(false, false, true)]
    public async Task WriteAsync_ThroughScheduler_ReadsBackAndReachesFile(bool ioUring, bool direct, bool threadsForLone)
    {
        using var file = new TempFile(4 * 1024 * 1024, 2);
        var data = new byte[3 * 1024 * 1024 + 512 + 5];
        new Random(3).NextBytes(data);
        var payload = data.AsMemory(5); // never page-aligned: the scheduler must bounce it
        await using (var disk = new BlockIoScheduler(FileBlockDevice.Open("0", file.Path,
            options: new FileBlockDeviceOptions { UseIoUring = ioUring, Direct = direct, ThreadsForLoneRequests = threadsForLone })))
        {
            await disk.WriteAsync(9, payload);
            await disk.FlushAsync();
            var back = new byte[payload.Length + 1];
            await disk.ReadAsync(9, back.AsMemory(1));
            Assert.True(payload.Span.SequenceEqual(back.AsSpan(1)));
        }

        var onDisk = File.ReadAllBytes(file.Path);
        Assert.True(payload.Span.SequenceEqual(onDisk.AsSpan(9 * 512, payload.Length)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WriteAsync_ForceUnitAccessWithoutFlush_FileHasTheData(bool ioUring)
    {
        // FUA writes (RWF_DSYNC through io_uring, pwrite then fdatasync on threads) and no flush: the file, read
        // apart from the disk, holds exactly what was written, checked by sha256 of the whole file.
        using var file = new TempFile(1024 * 1024, 4);
        var expected = File.ReadAllBytes(file.Path);
        var data = new byte[300 * 1024 + 512 + 1];
        new Random(14).NextBytes(data);
        var payload = data.AsMemory(1, data.Length - 1);
        payload.Span.CopyTo(expected.AsSpan(33 * 512));
        using var buffer = new AlignedBuffer(8192, 4096);
        buffer.Memory.Span.Fill(0xAB);
        buffer.Memory.Span.CopyTo(expected.AsSpan(2000 * 512));

        var disk = new BlockIoScheduler(FileBlockDevice.Open("0", file.Path,
            options: new FileBlockDeviceOptions { UseIoUring = ioUring, ThreadsForLoneRequests = false }));
        await disk.WriteAsync(33, payload, BlockWriteFlags.ForceUnitAccess);
        await disk.WriteAsync(2000, buffer.Memory, BlockWriteFlags.ForceUnitAccess);

        Assert.Equal(System.Security.Cryptography.SHA256.HashData(expected), file.Sha256());
        await disk.DisposeAsync();
    }

    [Fact]
    public async Task WriteAsync_WriteThroughOption_EveryWriteReachesTheFile()
    {
        using var file = new TempFile(64 * 1024, 4);
        await using var disk = FileBlockDevice.Open("0", file.Path, options: new FileBlockDeviceOptions { WriteThrough = true });
        using var buffer = new AlignedBuffer(4096, 4096);
        buffer.Memory.Span.Fill(0xAB);

        await disk.WriteAsync(8, buffer.Memory, BlockWriteFlags.ForceUnitAccess);
        await disk.WriteAsync(16, buffer.Memory);

        var onDisk = File.ReadAllBytes(file.Path);
        Assert.All(onDisk.AsSpan(8 * 512, 4096).ToArray(), b => Assert.Equal(0xAB, b));
        Assert.All(onDisk.AsSpan(16 * 512, 4096).ToArray(), b => Assert.Equal(0xAB, b));
    }

    [Fact]
    public async Task ReadAsync_UnalignedBufferOnDirectDevice_ThrowsArgumentException()
    {
        using var file = new TempFile(64 * 1024, 5);
        await using var disk = FileBlockDevice.Open("0", file.Path);
        Assert.True(disk.IsDirect);
        var buffer = new byte[513];

        await Assert.ThrowsAsync<ArgumentException>(async () => await disk.ReadAsync(0, buffer.AsMemory(1)));
    }

    [Fact]
    public async Task WriteAsync_ReadOnlyDisk_RefusedAndFileUnchanged()
    {
        using var file = new TempFile(64 * 1024, 6);
        var before = file.Sha256();
        await using var disk = new BlockIoScheduler(FileBlockDevice.Open("0", file.Path, readOnly: true));

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await disk.WriteAsync(0, new byte[4096]));

        Assert.Equal(BlockError.ReadOnly, e.Error);
        Assert.Equal(before, file.Sha256());
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public async Task ReadAsync_FileTruncatedAfterOpen_ReportsIoErrorWithRange(bool ioUring, bool threadsForLone)
    {
        using var file = new TempFile(1024 * 1024, 7);
        await using var disk = new BlockIoScheduler(FileBlockDevice.Open("0", file.Path,
            options: new FileBlockDeviceOptions { UseIoUring = ioUring, ThreadsForLoneRequests = threadsForLone }));
        using (var stream = new FileStream(file.Path, FileMode.Open))
        {
            stream.SetLength(256 * 1024);
        }

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await disk.ReadAsync(1024, new byte[64 * 512]));

        Assert.Equal(BlockError.IoError, e.Error);
        Assert.Equal(1024, e.Sector);
        Assert.Equal(64, e.SectorCount);
        Assert.Contains("1024..1087", e.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WriteAsync_FileTruncatedAfterOpen_ReportsIoErrorAndDoesNotExtendIt(bool ioUring)
    {
        using var file = new TempFile(1024 * 1024, 7);
        await using var disk = new BlockIoScheduler(FileBlockDevice.Open("1", file.Path, options: new FileBlockDeviceOptions { UseIoUring = ioUring }));
        using (var stream = new FileStream(file.Path, FileMode.Open))
        {
            stream.SetLength(256 * 1024);
        }

        // Past the new end, and before it: either write would leave the cut data as zeros.
        foreach (long sector in (long[])[1024, 0])
        {
            var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await disk.WriteAsync(sector, new byte[64 * 512]));
            Assert.Equal(BlockError.IoError, e.Error);
            Assert.Equal($"disk '1': I/O error at sectors {sector}..{sector + 63}: its file shrank to 262144 bytes of 1048576 while in use (truncated by another program?)", e.Message);
        }
        Assert.Equal(256 * 1024, new FileInfo(file.Path).Length);
        await Assert.ThrowsAsync<BlockDeviceException>(async () => await disk.FlushAsync());
    }

    [Fact]
    public void Open_FileNotWholeSectors_Throws()
    {
        using var file = new TempFile(1000, 8);

        Assert.Throws<IOException>(() => FileBlockDevice.Open("0", file.Path));
    }

    [Fact]
    public void DirectRefusal_FilesystemWithoutDirectIo_GivesReason()
    {
        var stat = new BlockNative.Statx { Mask = BlockNative.STATX_DIOALIGN, DioOffsetAlign = 0 };

        Assert.NotNull(FileBlockDevice.DirectRefusal(stat, isBlockDevice: false, sectorSize: 512));
    }

    [Fact]
    public void DirectRefusal_OffsetAlignmentAboveSector_GivesReason()
    {
        var stat = new BlockNative.Statx { Mask = BlockNative.STATX_DIOALIGN, DioOffsetAlign = 4096, DioMemAlign = 4 };

        Assert.NotNull(FileBlockDevice.DirectRefusal(stat, isBlockDevice: false, sectorSize: 512));
        Assert.Null(FileBlockDevice.DirectRefusal(stat, isBlockDevice: false, sectorSize: 4096));
    }

    [Fact]
    public async Task Open_DirectRefused_LogsWarningAndOpensBuffered()
    {
        using var file = new TempFile(64 * 1024, 9);
        var log = new StringWriter();
        // This host's filesystems all take O_DIRECT, so the refusal is injected.
        var options = new FileBlockDeviceOptions { Log = new Logger(LogLevel.Info, log), RefuseDirectForTests = "test refusal" };

        await using (var disk = FileBlockDevice.Open("0", file.Path, options: options))
        {
            Assert.False(disk.IsDirect);
            Assert.Equal(1, disk.Info.MemoryAlignment);
            var buffer = new byte[1025];
            await disk.ReadAsync(2, buffer.AsMemory(1, 512));
        }
        Assert.Contains("test refusal", log.ToString());
        Assert.Contains("WARN", log.ToString());
    }

    [Fact]
    public async Task DisposeAsync_FromCompletionContinuation_DoesNotHang()
    {
        using var file = new TempFile(64 * 1024, 10);
        using var buffer = new AlignedBuffer(4096, 4096);
        var run = Task.Run(async () =>
        {
            var options = new FileBlockDeviceOptions { ThreadsForLoneRequests = false };
            var disk = FileBlockDevice.Open("0", file.Path, options: options);
            Assert.Equal("io_uring", disk.Engine);
            // io_uring completions run their continuations on the ring's reaper thread: this dispose runs
            // there, and must not wait for that thread to end.
            await disk.ReadAsync(0, buffer.Memory);
            await disk.DisposeAsync();
            // A new disk after the ring closed gets a new ring.
            await using var again = FileBlockDevice.Open("0", file.Path, options: options);
            await again.ReadAsync(8, buffer.Memory);
        });

        await run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ReadAsync_TwoDisksConcurrently_BothCorrect()
    {
        using var first = new TempFile(1024 * 1024, 11);
        using var second = new TempFile(1024 * 1024, 12);
        await using var a = new BlockIoScheduler(FileBlockDevice.Open("a", first.Path, readOnly: true));
        await using var b = new BlockIoScheduler(FileBlockDevice.Open("b", second.Path, readOnly: true));
        var bufferA = new byte[1024 * 1024];
        var bufferB = new byte[1024 * 1024];

        await Task.WhenAll(a.ReadAsync(0, bufferA).AsTask(), b.ReadAsync(0, bufferB).AsTask());

        Assert.Equal(File.ReadAllBytes(first.Path), bufferA);
        Assert.Equal(File.ReadAllBytes(second.Path), bufferB);
    }
}
