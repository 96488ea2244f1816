using Unisharp.Devices;

namespace Unisharp.Block.Tests;

public sealed class BlockCopyTests
{
    [Theory]
    [InlineData(1, false)]
    [InlineData(7, true)]
    [InlineData(50, false)]
    [InlineData(50, true)]
    [InlineData(2000, true)]
    public async Task CopyAsync_MemoryDisks_ByteExact(int buffsize, bool parallel)
    {
        var from = new MemoryBlockDevice("0", 1000, queueDepth: 8);
        new Random(buffsize).NextBytes(from.Data);
        var to = new MemoryBlockDevice("1", 1000, queueDepth: 8);

        await BlockCopy.CopyAsync(new BlockIoScheduler(from), new BlockIoScheduler(to), buffsize, parallel);

        Assert.True(from.Data.SequenceEqual(to.Data));
    }

    [Fact]
    public async Task CopyAsync_JobLargerThanTheLimit_ClearErrorWithTheLimit()
    {
        // --buffsize=1048576 on 4 KiB sectors: 4 GiB per job.
        var from = new MemoryBlockDevice("0", 16, sectorSize: 4096);
        var to = new MemoryBlockDevice("1", 16, sectorSize: 4096);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => BlockCopy.CopyAsync(from, to, 1 << 20, parallel: false));

        Assert.Equal("a job of 1048576 sectors of 4096 bytes is 4294967296 bytes: at most 262144 sectors (1073741824 bytes) per job", e.Message);
    }

    [Fact]
    public async Task CopyAsync_Parallel_KeepsDeviceQueueFull()
    {
        // The reads wait at a gate until several are under way at once: how many the copy keeps in flight then does not
        // depend on how soon the thread pool completes each (with no gate a fast machine could finish every read before
        // the next was issued).
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var from = new InstrumentedBlockDevice(512, queueDepth: 4) { Gate = gate };
        var to = new InstrumentedBlockDevice(512, queueDepth: 4);

        var copy = BlockCopy.CopyAsync(new BlockIoScheduler(from), new BlockIoScheduler(to), 8, parallel: true);
        bool several = SpinWait.SpinUntil(() => from.InFlight == 4, TimeSpan.FromSeconds(10));
        gate.SetResult();
        await copy;

        Assert.True(several, $"at most {from.MaxInFlight} reads in flight, the queue depth is 4");
        Assert.Empty(from.Violations);
        Assert.Empty(to.Violations);
        Assert.True(from.MaxInFlight > 1);
        Assert.Equal(64, to.Writes);
    }

    [Fact]
    public async Task CopyAsync_WriteFails_ThrowsWithRange()
    {
        var from = new InstrumentedBlockDevice(512, queueDepth: 4);
        var to = new InstrumentedBlockDevice(512, maxRequestBytes: 8192, queueDepth: 4) { FailRange = (100, 1) };

        var e = await Assert.ThrowsAsync<BlockDeviceException>(() =>
            BlockCopy.CopyAsync(new BlockIoScheduler(from), new BlockIoScheduler(to), 10, parallel: true));

        Assert.Equal(100, e.Sector);
        Assert.Equal(10, e.SectorCount);
    }

    [Fact]
    public async Task CopyAsync_DestinationSmaller_ThrowsArgumentException()
    {
        var from = new MemoryBlockDevice("0", 100);
        var to = new MemoryBlockDevice("1", 99);

        await Assert.ThrowsAsync<ArgumentException>(() => BlockCopy.CopyAsync(from, to, 10, parallel: false));
    }
}
