using System.Security.Cryptography;
using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;

namespace Unisharp.Targets.Unix.Tests;

/// <summary>
/// The block device contract as an app sees it on unix (a file given with --disk): malformed requests fail
/// with a clear error before any byte changes; good ones land exactly where they should.
/// </summary>
public sealed class DiskContractTests : IDisposable
{
    private const int Sectors = 64;
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"unisharp-disk-{Guid.NewGuid():N}.img");

    public DiskContractTests()
    {
        var content = new byte[Sectors * 512];
        new SeededEntropy(3).Fill(content);
        File.WriteAllBytes(_path, content);
    }

    public void Dispose() => File.Delete(_path);

    [Theory]
    [InlineData(0, 100)]
    [InlineData(0, 513)]
    [InlineData(63, 1024)]
    [InlineData(64, 512)]
    [InlineData(-1, 512)]
    public async Task Write_Malformed_ClearErrorAndNoDataChanged(long sector, int length)
    {
        string before = Hash();
        await using var devices = await Open(readOnly: false);
        var disk = devices.Disks["0"];
        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await disk.WriteAsync(sector, new byte[length]));
        Assert.Contains(e.Error, new[] { BlockError.UnalignedLength, BlockError.OutOfRange });
        Assert.StartsWith("disk '0': ", e.Message);
        await devices.DisposeAsync();
        Assert.Equal(before, Hash());
    }

    [Fact]
    public async Task Write_ReadOnlyDisk_RefusedAndNoDataChanged()
    {
        string before = Hash();
        await using (var devices = await Open(readOnly: true))
        {
            var disk = devices.Disks["0"];
            Assert.True(disk.Info.ReadOnly);
            var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await disk.WriteAsync(0, new byte[512]));
            Assert.Equal(BlockError.ReadOnly, e.Error);
        }
        Assert.Equal(before, Hash());
    }

    [Fact]
    public async Task Read_OutOfRange_ClearError()
    {
        await using var devices = await Open(readOnly: true);
        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await devices.Disks["0"].ReadAsync(Sectors, new byte[512]));
        Assert.Equal(BlockError.OutOfRange, e.Error);
        Assert.Equal(Sectors, e.Sector);
    }

    [Fact]
    public async Task WriteThenRead_LandsAtTheRightSectors()
    {
        var expected = File.ReadAllBytes(_path);
        var data = new byte[3 * 512];
        new SeededEntropy(9).Fill(data);
        data.CopyTo(expected, 10 * 512);
        await using (var devices = await Open(readOnly: false))
        {
            var disk = devices.Disks["0"];
            Assert.Equal(512, disk.Info.SectorSize);
            Assert.Equal(Sectors, disk.Info.SectorCount);
            await disk.WriteAsync(10, data);
            await disk.FlushAsync();
            var back = new byte[3 * 512];
            await disk.ReadAsync(10, back);
            Assert.Equal(data, back);
        }
        Assert.Equal(expected, File.ReadAllBytes(_path));
    }

    [Fact]
    public async Task ManyWritesAtOnce_AllLand()
    {
        var expected = new byte[Sectors * 512];
        new SeededEntropy(11).Fill(expected);
        await using (var devices = await Open(readOnly: false))
        {
            var disk = devices.Disks["0"];
            await Task.WhenAll(Enumerable.Range(0, Sectors).Select(s => disk.WriteAsync(s, expected.AsMemory(s * 512, 512)).AsTask()));
        }
        Assert.Equal(expected, File.ReadAllBytes(_path));
    }

    private async Task<TargetDevices> Open(bool readOnly)
    {
        var target = new UnixTarget();
        target.TakeDeviceOptions([$"--disk=0={_path}{(readOnly ? ":ro" : "")}"]);
        return await target.OpenAsync(new DeviceRequest { Disks = ["0"], Ip = default, Log = new Logger(LogLevel.Quiet) }, CancellationToken.None);
    }

    private string Hash() => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(_path)));
}
