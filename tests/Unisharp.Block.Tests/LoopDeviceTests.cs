using Unisharp.Devices;
using Unisharp.Linux;

namespace Unisharp.Block.Tests;

/// <summary>Real block devices: loop devices over files in the temporary directory, always detached.</summary>
public sealed class LoopDeviceTests
{
    private const long DiskBytes = 4 * 1024 * 1024;

    [LoopDeviceFact]
    public async Task Open_LoopDevice512_GeometryFromSysfs() => await CheckGeometryAsync(512);

    [LoopDeviceFact]
    public async Task Open_LoopDevice4096_GeometryFromSysfs() => await CheckGeometryAsync(4096);

    private static async Task CheckGeometryAsync(int sectorSize)
    {
        using var file = new TempFile(DiskBytes, 1);
        using var loop = LoopDevice.Attach(file.Path, sectorSize);
        await using var disk = FileBlockDevice.Open("0", loop.Path);

        Assert.True(disk.IsBlockDevice);
        Assert.True(disk.IsDirect);
        Assert.Equal(sectorSize, disk.Info.SectorSize);
        Assert.Equal(DiskBytes / sectorSize, disk.Info.SectorCount);
        Assert.True(disk.Info.PhysicalBlockSize >= sectorSize);
        Assert.True(disk.Info.MaxRequestBytes >= sectorSize);
        Assert.True(disk.Info.QueueDepth >= 1);
        // The sysfs values, read independently.
        string queue = $"/sys/block/{Path.GetFileName(loop.Path)}/queue";
        Assert.Equal(int.Parse(File.ReadAllText($"{queue}/max_sectors_kb").Trim()) * 1024 / sectorSize * sectorSize, disk.Info.MaxRequestBytes);
        Assert.Equal(int.Parse(File.ReadAllText($"{queue}/nr_requests").Trim()), disk.Info.QueueDepth);
    }

    [LoopDeviceFact]
    public async Task CopyAsync_LoopDevices512_ByteExactAtEverySize() => await CopyAtEverySizeAsync(512);

    [LoopDeviceFact]
    public async Task CopyAsync_LoopDevices4096_ByteExactAtEverySize() => await CopyAtEverySizeAsync(4096);

    private static async Task CopyAtEverySizeAsync(int sectorSize)
    {
        using var source = new TempFile(DiskBytes, 2);
        var expected = source.Sha256();
        int seed = 10;
        foreach (int buffsize in new[] { 1, 7, 50, 2000 })
        {
            foreach (bool parallel in new[] { false, true })
            {
                using var destination = new TempFile(DiskBytes, seed++);
                using (var loopFrom = LoopDevice.Attach(source.Path, sectorSize))
                using (var loopTo = LoopDevice.Attach(destination.Path, sectorSize))
                {
                    await using var from = new BlockIoScheduler(FileBlockDevice.Open("0", loopFrom.Path, readOnly: true));
                    await using var to = new BlockIoScheduler(FileBlockDevice.Open("1", loopTo.Path));
                    await BlockCopy.CopyAsync(from, to, buffsize, parallel);
                    await to.FlushAsync();
                }
                Assert.True(expected.AsSpan().SequenceEqual(destination.Sha256()), $"copy differs at buffsize {buffsize}, parallel {parallel}");
            }
        }
    }

    [LoopDeviceFact]
    public async Task ReadAsync_LoopDeviceOverTruncatedFile_ReportsIoErrorWithRange()
    {
        using var file = new TempFile(DiskBytes, 3);
        using var loop = LoopDevice.Attach(file.Path, 512);
        await using var disk = new BlockIoScheduler(FileBlockDevice.Open("0", loop.Path));
        using (var stream = new FileStream(file.Path, FileMode.Open))
        {
            stream.SetLength(DiskBytes / 2);
        }
        var buffer = new byte[64 * 512];
        await disk.ReadAsync(0, buffer);

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await disk.ReadAsync(6000, buffer));

        Assert.Equal(BlockError.IoError, e.Error);
        Assert.Equal(6000, e.Sector);
        Assert.Equal(64, e.SectorCount);
    }
}
