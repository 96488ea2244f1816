using Unisharp.Devices;
using Unisharp.Devices.Middleware;

namespace Unisharp.Block.Tests;

/// <summary>
/// Block-copy and the scheduler over a disk that fails on purpose: every failure reaches the caller with the sector
/// range of an injected fault, and whatever is reported done is on the disk.
/// </summary>
public sealed class FaultInjectorBlockDeviceTests
{
    private static readonly BlockFaultOptions s_everyFault = new() { ReadError = 0.05, WriteError = 0.05, ShortWrite = 0.1 };

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public async Task Scheduler_RandomFaults_FailuresNameAFaultAndCompletedRequestsAreExact(ulong seed)
    {
        // 16-sector parts on the device, requests of up to 64 sectors: most are split, parts run 4 at once.
        var disk = new MemoryBlockDevice("d", 1024, maxRequestBytes: 16 * 512, queueDepth: 4);
        var faulty = new FaultInjectorBlockDevice(disk, s_everyFault with { Seed = seed });
        await using var scheduler = new BlockIoScheduler(faulty);
        var random = new Random((int)seed);
        int completed = 0, failed = 0;

        for (int i = 0; i < 300; i++)
        {
            int count = random.Next(1, 65);
            long sector = random.Next(0, 1024 - count);
            byte[] data = new byte[count * 512];
            random.NextBytes(data);
            int faultsBefore = faulty.Faults.Count;
            bool write = random.Next(3) > 0;
            var failure = await Record.ExceptionAsync(async () =>
            {
                if (write)
                {
                    await scheduler.WriteAsync(sector, data);
                }
                else
                {
                    await scheduler.ReadAsync(sector, data);
                }
            });

            var injected = faulty.Faults.Skip(faultsBefore).ToList();
            if (failure is null)
            {
                completed++;
                Assert.Empty(injected);
                // Done means done: the disk holds what was written, the buffer what the disk holds.
                Assert.True(disk.Data.Slice((int)sector * 512, data.Length).SequenceEqual(data), $"request {i} at {sector}+{count}");
                continue;
            }
            failed++;
            var e = Assert.IsType<BlockDeviceException>(failure);
            Assert.Equal(BlockError.IoError, e.Error);
            Assert.Contains(injected, f => f.Sector == e.Sector && f.SectorCount == e.SectorCount);
            Assert.True(e.Sector >= sector && e.Sector + e.SectorCount <= sector + count, e.Message);
        }

        Assert.True(completed > 50 && failed > 20, $"{completed} completed, {failed} failed: the faults must matter and not block everything");
    }

    [Fact]
    public async Task ShortWrite_FirstSectorsOnDiskRestNamed()
    {
        var disk = new MemoryBlockDevice("d", 64);
        var faulty = new FaultInjectorBlockDevice(disk, new BlockFaultOptions { ShortWrite = 1, Seed = 7 });
        byte[] data = new byte[32 * 512];
        data.AsSpan().Fill(0xAB);

        var e = await Assert.ThrowsAsync<BlockDeviceException>(() => faulty.WriteAsync(8, data).AsTask());

        var fault = Assert.Single(faulty.Faults);
        Assert.Equal(new BlockFault(BlockFaultKind.ShortWrite, e.Sector, e.SectorCount), fault);
        Assert.Equal(8 + 32, e.Sector + e.SectorCount);
        long written = e.Sector - 8;
        Assert.True(disk.Data.Slice(8 * 512, (int)written * 512).IndexOfAnyExcept((byte)0xAB) < 0);
        Assert.True(disk.Data.Slice((int)e.Sector * 512, (int)e.SectorCount * 512).IndexOfAnyExcept((byte)0) < 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CopyAsync_FaultyDestination_FailsWithAFaultsRangeOrCopiesExactly(bool parallel)
    {
        for (ulong seed = 1; seed <= 20; seed++)
        {
            var source = new MemoryBlockDevice("src", 512, queueDepth: 8);
            new Random((int)seed).NextBytes(source.Data);
            var target = new MemoryBlockDevice("dst", 512, queueDepth: 8);
            var faulty = new FaultInjectorBlockDevice(target, new BlockFaultOptions { WriteError = 0.01, ShortWrite = 0.02, Seed = seed });

            var failure = await Record.ExceptionAsync(() =>
                BlockCopy.CopyAsync(new BlockIoScheduler(source), new BlockIoScheduler(faulty), 16, parallel));

            if (failure is null)
            {
                Assert.Empty(faulty.Faults);
                Assert.True(source.Data.SequenceEqual(target.Data), $"seed {seed}: copy reported done but the disks differ");
                continue;
            }
            var e = Assert.IsType<BlockDeviceException>(failure);
            Assert.Contains(faulty.Faults, f => f.Sector == e.Sector && f.SectorCount == e.SectorCount);
        }
    }

    [Fact]
    public async Task CopyAsync_SourceShrinksMidway_OutOfRangeWithTheRequestsSectors()
    {
        var source = new MemoryBlockDevice("src", 256);
        var faulty = new FaultInjectorBlockDevice(source, new BlockFaultOptions { ShrinkAfterRequests = 5, ShrinkToSectors = 100 });
        var target = new MemoryBlockDevice("dst", 256);

        var e = await Assert.ThrowsAsync<BlockDeviceException>(() =>
            BlockCopy.CopyAsync(new BlockIoScheduler(faulty), new BlockIoScheduler(target), 16, parallel: false));

        Assert.Equal(BlockError.OutOfRange, e.Error);
        // Jobs of 16 sectors: the seventh (sectors 96..111) is the first to reach past sector 100.
        Assert.Equal((96L, 16L), (e.Sector, e.SectorCount));
        Assert.Equal(new BlockFault(BlockFaultKind.Shrunk, 96, 16), Assert.Single(faulty.Faults));
        Assert.True(target.Data[(96 * 512)..].IndexOfAnyExcept((byte)0) < 0, "nothing from the failed job on is written");
    }

    [Fact]
    public async Task Faults_SameSeedSameRequests_SameFaults()
    {
        async Task<IReadOnlyList<BlockFault>> Run()
        {
            var faulty = new FaultInjectorBlockDevice(new MemoryBlockDevice("d", 256), s_everyFault with { Seed = 42 });
            byte[] buffer = new byte[8 * 512];
            for (int i = 0; i < 200; i++)
            {
                await Record.ExceptionAsync(() => (i % 2 == 0 ? faulty.WriteAsync(i % 32 * 8, buffer) : faulty.ReadAsync(i % 32 * 8, buffer)).AsTask());
            }
            return faulty.Faults;
        }

        var first = await Run();

        Assert.NotEmpty(first);
        Assert.Equal(first, await Run());
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Constructor_ChanceOutOfRange_Throws(double chance)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new FaultInjectorBlockDevice(new MemoryBlockDevice("d", 8), new BlockFaultOptions { ShortWrite = chance }));
    }
}
