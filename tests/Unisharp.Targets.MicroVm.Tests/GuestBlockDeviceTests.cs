using Unisharp.Block;
using Unisharp.Devices;
using Unisharp.Targets.MicroVm.Block;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>The guest's disk over a regular file standing in for /dev/vda.</summary>
public sealed class GuestBlockDeviceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("unisharp-guestblk-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Dev => Path.Combine(_root, "dev");

    // A regular file stands in for the device node (the in-guest tests use real virtio-blk disks).
    private void MakeDisk(string device, long bytes)
    {
        Directory.CreateDirectory(Dev);
        using var file = File.Create(Path.Combine(Dev, device));
        file.SetLength(bytes);
    }

    [Fact]
    public async Task WriteAsync_ThenReadAsync_ReturnsTheData()
    {
        MakeDisk("vda", 1 << 16);
        var device = GuestBlockDevice.Open("data", "vda", readOnly: false, Dev);
        // The target puts the scheduler over it, as here: the device is direct, so buffers are bounced.
        await using var disk = new BlockIoScheduler(device);
        Assert.True(device.IsDirect);
        Assert.Equal("io_uring", device.Engine);
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
        await using var disk = GuestBlockDevice.Open("data", "vda", readOnly: true, Dev);

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await disk.WriteAsync(0, new byte[512]));
        Assert.Equal(BlockError.ReadOnly, e.Error);
    }

    [Fact]
    public async Task ReadAsync_PastTheEnd_ThrowsOutOfRange()
    {
        MakeDisk("vda", 1 << 16);
        await using var disk = GuestBlockDevice.Open("data", "vda", readOnly: false, Dev);

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await disk.ReadAsync(128, new byte[512]));
        Assert.Equal(BlockError.OutOfRange, e.Error);
    }

    [Fact]
    public void Open_NoSuchDevice_ThrowsIOException()
    {
        Directory.CreateDirectory(Dev);

        var e = Assert.Throws<IOException>(() => GuestBlockDevice.Open("data", "vdz", false, Dev));
        Assert.Contains("vdz", e.Message);
    }
}
