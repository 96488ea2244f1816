using Unisharp.Linux;

namespace Unisharp.Block.Tests;

public sealed class BlockQueueLimitsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"unisharp-sysfs-{Guid.NewGuid():N}");

    private void WriteDisk(string directory, long sizeIn512)
    {
        Directory.CreateDirectory(Path.Combine(directory, "queue"));
        File.WriteAllText(Path.Combine(directory, "size"), $"{sizeIn512}\n");
        File.WriteAllText(Path.Combine(directory, "queue", "logical_block_size"), "4096\n");
        File.WriteAllText(Path.Combine(directory, "queue", "physical_block_size"), "4096\n");
        File.WriteAllText(Path.Combine(directory, "queue", "max_sectors_kb"), "1280\n");
        File.WriteAllText(Path.Combine(directory, "queue", "nr_requests"), "128\n");
        File.WriteAllText(Path.Combine(directory, "queue", "optimal_io_size"), "65536\n");
    }

    [Fact]
    public void Read_Disk_ParsesEveryAttribute()
    {
        WriteDisk(Path.Combine(_root, "dev", "block", "7:0"), 16384);

        var limits = BlockQueueLimits.Read(7, 0, _root);

        Assert.Equal(new BlockQueueLimits(4096, 4096, 1280 * 1024, 128, 65536, 16384L * 512), limits);
    }

    [Fact]
    public void Read_DeviceReadOnly_IsReadOnly()
    {
        string disk = Path.Combine(_root, "dev", "block", "254:16");
        WriteDisk(disk, 2048);
        File.WriteAllText(Path.Combine(disk, "ro"), "1\n");

        Assert.True(BlockQueueLimits.Read(254, 16, _root).ReadOnly);
    }

    [Fact]
    public void Read_VirtioBlkLikeQueue_GivesItsLimits()
    {
        // A virtio-blk disk's queue as the guest sees it: 512-byte sectors, a deep queue, no optimal size, writable.
        string disk = Path.Combine(_root, "dev", "block", "254:0");
        WriteDisk(disk, 32768);
        File.WriteAllText(Path.Combine(disk, "queue", "logical_block_size"), "512\n");
        File.WriteAllText(Path.Combine(disk, "queue", "physical_block_size"), "512\n");
        File.WriteAllText(Path.Combine(disk, "queue", "max_sectors_kb"), "1280\n");
        File.WriteAllText(Path.Combine(disk, "queue", "nr_requests"), "256\n");
        File.WriteAllText(Path.Combine(disk, "queue", "optimal_io_size"), "0\n");
        File.WriteAllText(Path.Combine(disk, "ro"), "0\n");

        var limits = BlockQueueLimits.Read(254, 0, _root);

        Assert.Equal(new BlockQueueLimits(512, 512, 1280 * 1024, 256, 0, 32768L * 512, ReadOnly: false), limits);
    }

    [Fact]
    public void Read_Partition_UsesItsDisksQueue()
    {
        // /sys/dev/block/8:1 links to .../sda/sda1, which has a size but no queue of its own.
        string disk = Path.Combine(_root, "devices", "sda");
        WriteDisk(disk, 1_000_000);
        string partition = Path.Combine(disk, "sda1");
        Directory.CreateDirectory(partition);
        File.WriteAllText(Path.Combine(partition, "size"), "2048\n");
        Directory.CreateDirectory(Path.Combine(_root, "dev", "block"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "dev", "block", "8:1"), partition);

        var limits = BlockQueueLimits.Read(8, 1, _root);

        Assert.Equal(4096, limits.LogicalBlockSize);
        Assert.Equal(128, limits.QueueDepth);
        Assert.Equal(2048L * 512, limits.SizeBytes);
    }

    [Fact]
    public void Read_Malformed_ThrowsIOException()
    {
        string disk = Path.Combine(_root, "dev", "block", "7:1");
        WriteDisk(disk, 8);
        File.WriteAllText(Path.Combine(disk, "queue", "nr_requests"), "many\n");

        Assert.Throws<IOException>(() => BlockQueueLimits.Read(7, 1, _root));
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
