using Unisharp.Devices;
using Unisharp.Targets.MicroVm.Block;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>The guest's disk over a fake sysfs and a regular file standing in for /dev/vda.</summary>
public sealed class GuestBlockDeviceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("unisharp-guestblk-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string SysBlock => Path.Combine(_root, "sys");
    private string Dev => Path.Combine(_root, "dev");

    private void MakeDisk(string device, long bytes, int logical = 512, int physical = 4096, int maxKb = 128, int nrRequests = 256, int ro = 0)
    {
        string sys = Path.Combine(SysBlock, device);
        Directory.CreateDirectory(Path.Combine(sys, "queue"));
        File.WriteAllText(Path.Combine(sys, "size"), $"{bytes / 512}\n");
        File.WriteAllText(Path.Combine(sys, "ro"), $"{ro}\n");
        File.WriteAllText(Path.Combine(sys, "queue", "logical_block_size"), $"{logical}\n");
        File.WriteAllText(Path.Combine(sys, "queue", "physical_block_size"), $"{physical}\n");
        File.WriteAllText(Path.Combine(sys, "queue", "max_sectors_kb"), $"{maxKb}\n");
        File.WriteAllText(Path.Combine(sys, "queue", "nr_requests"), $"{nrRequests}\n");
        Directory.CreateDirectory(Dev);
        using var file = File.Create(Path.Combine(Dev, device));
        file.SetLength(bytes);
    }

    [Fact]
    public void ReadInfo_VirtioBlkLikeSysfs_GivesGeometry()
    {
        MakeDisk("vda", 1 << 20);

        var info = GuestBlockDevice.ReadInfo(Path.Combine(SysBlock, "vda"), readOnly: false);

        Assert.Equal(512, info.SectorSize);
        Assert.Equal(2048, info.SectorCount);
        Assert.Equal(4096, info.PhysicalBlockSize);
        Assert.Equal(128 * 1024, info.MaxRequestBytes);
        Assert.Equal(16, info.QueueDepth);
        Assert.False(info.ReadOnly);
    }

    [Fact]
    public void ReadInfo_4KSectors_CountsSizeIn512ByteUnits()
    {
        MakeDisk("vdb", 1 << 20, logical: 4096);

        var info = GuestBlockDevice.ReadInfo(Path.Combine(SysBlock, "vdb"), readOnly: false);

        Assert.Equal(4096, info.SectorSize);
        Assert.Equal(256, info.SectorCount);
    }

    [Fact]
    public void ReadInfo_DeviceReadOnly_IsReadOnly()
    {
        MakeDisk("vdc", 1 << 16, ro: 1);

        Assert.True(GuestBlockDevice.ReadInfo(Path.Combine(SysBlock, "vdc"), readOnly: false).ReadOnly);
    }

    [Fact]
    public async Task WriteAsync_ThenReadAsync_ReturnsTheData()
    {
        MakeDisk("vda", 1 << 16);
        await using var disk = GuestBlockDevice.Open("data", "vda", readOnly: false, SysBlock, Dev);
        byte[] data = new byte[1024];
        new Random(7).NextBytes(data);

        await disk.WriteAsync(3, data);
        await disk.FlushAsync();
        byte[] back = new byte[1024];
        await disk.ReadAsync(3, back);

        Assert.Equal(data, back);
        Assert.Equal(data, File.ReadAllBytes(Path.Combine(Dev, "vda")).AsSpan(3 * 512, 1024).ToArray());
    }

    [Fact]
    public async Task WriteAsync_ReadOnly_ThrowsBlockDeviceException()
    {
        MakeDisk("vda", 1 << 16);
        await using var disk = GuestBlockDevice.Open("data", "vda", readOnly: true, SysBlock, Dev);

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await disk.WriteAsync(0, new byte[512]));
        Assert.Equal(BlockError.ReadOnly, e.Error);
    }

    [Fact]
    public async Task ReadAsync_PastTheEnd_ThrowsOutOfRange()
    {
        MakeDisk("vda", 1 << 16);
        await using var disk = GuestBlockDevice.Open("data", "vda", readOnly: false, SysBlock, Dev);

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await disk.ReadAsync(128, new byte[512]));
        Assert.Equal(BlockError.OutOfRange, e.Error);
    }

    [Fact]
    public void Open_NoSuchDevice_ThrowsIOException()
    {
        Directory.CreateDirectory(SysBlock);

        var e = Assert.Throws<IOException>(() => GuestBlockDevice.Open("data", "vdz", false, SysBlock, Dev));
        Assert.Contains("vdz", e.Message);
    }
}
