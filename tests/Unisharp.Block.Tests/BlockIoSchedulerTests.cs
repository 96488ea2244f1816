using CsCheck;
using Unisharp.Devices;

namespace Unisharp.Block.Tests;

public sealed class BlockIoSchedulerTests
{
    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void Info_OfScheduler_AdvertisesLargeRequestsAndNoAlignment()
    {
        var device = new InstrumentedBlockDevice(1024, maxRequestBytes: 4096, queueDepth: 3, memoryAlignment: 4096);
        var scheduler = new BlockIoScheduler(device);

        Assert.Equal(BlockIoScheduler.MaxRequestBytes, scheduler.Info.MaxRequestBytes);
        Assert.Equal(1, scheduler.Info.MemoryAlignment);
        Assert.Equal(3, scheduler.Info.QueueDepth);
        Assert.Equal(512, scheduler.Info.SectorSize);
        Assert.Equal(1024, scheduler.Info.SectorCount);
    }

    [Fact]
    public async Task WriteAsync_LargerThanDeviceLimit_SplitsIntoAcceptedParts()
    {
        var device = new InstrumentedBlockDevice(1024, maxRequestBytes: 4096, queueDepth: 4);
        var scheduler = new BlockIoScheduler(device);
        var data = Pattern(100 * 512, 1);

        await scheduler.WriteAsync(10, data);

        // 100 sectors in parts of at most 8: 12 full parts and one of 4.
        Assert.Equal(13, device.Requests);
        Assert.Empty(device.Violations);
        Assert.Equal(data, device.Data.AsSpan(10 * 512, data.Length).ToArray());
    }

    [Fact]
    public async Task WriteAsync_ForceUnitAccessSplitAndBounced_EveryPartAsksForIt()
    {
        var device = new InstrumentedBlockDevice(1024, maxRequestBytes: 4096, queueDepth: 4, memoryAlignment: 4096);
        var scheduler = new BlockIoScheduler(device);
        var data = Pattern(100 * 512 + 3, 11);
        var payload = data.AsMemory(3); // unaligned: every part goes through a bounce buffer

        await scheduler.WriteAsync(10, payload, BlockWriteFlags.ForceUnitAccess);
        await scheduler.WriteAsync(200, payload);

        // The first write's 13 parts (100 sectors in parts of at most 8) all carry the flag; the second's none.
        Assert.Equal(26, device.Writes);
        Assert.Equal(13, device.ForceUnitAccessWrites);
        Assert.Equal(100, device.ForceUnitAccessSectors);
        Assert.Empty(device.Violations);
        Assert.True(payload.Span.SequenceEqual(device.Data.AsSpan(10 * 512, payload.Length)));
    }

    [Fact]
    public async Task FlushAsync_AfterWrites_ReachesTheDeviceAfterThem()
    {
        var device = new InstrumentedBlockDevice(1024, maxRequestBytes: 4096, queueDepth: 4);
        var scheduler = new BlockIoScheduler(device);

        await scheduler.WriteAsync(0, Pattern(64 * 512, 12));
        Assert.Equal(0, device.Flushes);
        await scheduler.FlushAsync();

        Assert.Equal(1, device.Flushes);
        Assert.Equal(8, device.WritesCompletedAtLastFlush);
    }

    [Fact]
    public async Task FlushAsync_Disposed_ThrowsDisconnected()
    {
        var device = new InstrumentedBlockDevice(64);
        var scheduler = new BlockIoScheduler(device);
        await scheduler.DisposeAsync();

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await scheduler.FlushAsync());
        Assert.Equal(BlockError.Disconnected, e.Error);
        Assert.Equal(0, device.Flushes);
    }

    [Fact]
    public async Task MemoryBlockDevice_FlushAndForceUnitAccess_AreCounted()
    {
        await using var memory = new MemoryBlockDevice("m", 256, maxRequestBytes: 4096);
        var scheduler = new BlockIoScheduler(memory);
        var data = Pattern(20 * 512, 13);

        await scheduler.WriteAsync(5, data, BlockWriteFlags.ForceUnitAccess);
        await scheduler.WriteAsync(100, data);
        await scheduler.FlushAsync();

        Assert.Equal(3, memory.ForceUnitAccessWrites); // 20 sectors in parts of 8
        Assert.Equal(1, memory.Flushes);
        Assert.True(data.AsSpan().SequenceEqual(memory.Data.Slice(5 * 512, data.Length)));
    }

    [Fact]
    public async Task ReadAsync_LargerThanDeviceLimit_ReturnsEveryByte()
    {
        var device = new InstrumentedBlockDevice(1024, maxRequestBytes: 4096, queueDepth: 4);
        new Random(2).NextBytes(device.Data);
        var scheduler = new BlockIoScheduler(device);
        var buffer = new byte[333 * 512];

        await scheduler.ReadAsync(500, buffer);

        Assert.Equal(device.Data.AsSpan(500 * 512, buffer.Length).ToArray(), buffer);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public async Task ReadAsync_ManyConcurrentCallers_NeverExceedsQueueDepth()
    {
        var device = new InstrumentedBlockDevice(4096, maxRequestBytes: 2048, queueDepth: 3);
        var scheduler = new BlockIoScheduler(device);
        var tasks = new List<Task>();
        for (int i = 0; i < 20; i++)
        {
            int sector = i * 100;
            tasks.Add(Task.Run(async () => await scheduler.ReadAsync(sector, new byte[50 * 512])));
        }

        await Task.WhenAll(tasks);

        Assert.Empty(device.Violations);
        Assert.InRange(device.MaxInFlight, 1, 3);
    }

    [Fact]
    public async Task ReadAsync_LargeRequest_RunsPartsConcurrently()
    {
        var device = new InstrumentedBlockDevice(1024, maxRequestBytes: 512, queueDepth: 4)
        {
            Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously),
        };
        var scheduler = new BlockIoScheduler(device);

        var read = scheduler.ReadAsync(0, new byte[16 * 512]).AsTask();
        // With every request held at the gate, the scheduler must have filled the queue.
        for (int i = 0; i < 1000 && device.MaxInFlight < 4; i++)
        {
            await Task.Delay(1);
        }
        Assert.False(read.IsCompleted);
        device.Gate.SetResult();
        await read;

        Assert.Equal(4, device.MaxInFlight);
        Assert.Empty(device.Violations);
    }

    [Fact]
    public async Task WriteAsync_UnalignedBuffer_BouncesThroughAlignedBuffers()
    {
        var device = new InstrumentedBlockDevice(1024, maxRequestBytes: 8192, queueDepth: 2, memoryAlignment: 4096);
        var scheduler = new BlockIoScheduler(device);
        var backing = Pattern(40 * 512 + 3, 3);
        // Offset 3 into an array is never 4096-aligned.
        var data = backing.AsMemory(3);

        await scheduler.WriteAsync(7, data);
        var back = new byte[40 * 512 + 1];
        await scheduler.ReadAsync(7, back.AsMemory(1));

        Assert.Empty(device.Violations);
        Assert.Equal(data.ToArray(), device.Data.AsSpan(7 * 512, data.Length).ToArray());
        Assert.Equal(data.ToArray(), back.AsSpan(1).ToArray());
        Assert.InRange(scheduler.BounceBuffersCreated, 1, 2);
    }

    [Fact]
    public async Task WriteAsync_UnalignedLength_ThrowsBeforeTouchingDevice()
    {
        var device = new InstrumentedBlockDevice(64);
        var scheduler = new BlockIoScheduler(device);

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await scheduler.WriteAsync(0, new byte[700]));

        Assert.Equal(BlockError.UnalignedLength, e.Error);
        Assert.Equal(0, device.Requests);
    }

    [Fact]
    public async Task ReadAsync_PastEnd_ThrowsOutOfRange()
    {
        var device = new InstrumentedBlockDevice(64);
        var scheduler = new BlockIoScheduler(device);

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await scheduler.ReadAsync(60, new byte[8 * 512]));

        Assert.Equal(BlockError.OutOfRange, e.Error);
        Assert.Equal(60, e.Sector);
        Assert.Equal(0, device.Requests);
    }

    [Fact]
    public async Task WriteAsync_ReadOnlyDevice_RefusedBeforeAnyRequest()
    {
        var device = new InstrumentedBlockDevice(64, readOnly: true);
        var scheduler = new BlockIoScheduler(device);

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await scheduler.WriteAsync(0, new byte[100 * 512 / 2]));

        Assert.Equal(BlockError.ReadOnly, e.Error);
        Assert.Equal(0, device.Requests);
    }

    [Fact]
    public async Task WriteAsync_PartFails_ReportsFailedRangeAndStopsSubmitting()
    {
        var device = new InstrumentedBlockDevice(1024, maxRequestBytes: 4096, queueDepth: 1)
        {
            FailRange = (36, 2),
        };
        var scheduler = new BlockIoScheduler(device);

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await scheduler.WriteAsync(20, new byte[100 * 512]));

        Assert.Equal(BlockError.IoError, e.Error);
        // Parts start at 20, 28, 36: the third part (36..43) holds the failed sectors.
        Assert.Equal(36, e.Sector);
        Assert.Equal(8, e.SectorCount);
        // With depth 1 the scheduler stops right after the failed part.
        Assert.Equal(3, device.Requests);
    }

    [Fact]
    public async Task ReadAsync_DeviceThrowsOtherException_WrappedWithRange()
    {
        var scheduler = new BlockIoScheduler(new ThrowingDevice());

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await scheduler.ReadAsync(5, new byte[3 * 512]));

        Assert.Equal(BlockError.IoError, e.Error);
        Assert.Equal(5, e.Sector);
        Assert.Equal(3, e.SectorCount);
        Assert.IsType<IOException>(e.InnerException);
    }

    [Fact]
    public async Task ReadAsync_Cancelled_ThrowsAndWaitsForPartsInFlight()
    {
        var device = new InstrumentedBlockDevice(1024, maxRequestBytes: 512, queueDepth: 2)
        {
            Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously),
        };
        var scheduler = new BlockIoScheduler(device);
        using var cts = new CancellationTokenSource();

        var read = scheduler.ReadAsync(0, new byte[64 * 512], cts.Token).AsTask();
        for (int i = 0; i < 1000 && device.MaxInFlight < 2; i++)
        {
            await Task.Delay(1);
        }
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
        Assert.True(device.Requests < 64);
        // Every slot came back: a new request goes through.
        device.Gate = null;
        await scheduler.ReadAsync(0, new byte[4 * 512]);
    }

    [Fact]
    public async Task ReadAsync_AlreadyCancelled_TouchesNothing()
    {
        var device = new InstrumentedBlockDevice(64);
        var scheduler = new BlockIoScheduler(device);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await scheduler.ReadAsync(0, new byte[512], new CancellationToken(canceled: true)));

        Assert.Equal(0, device.Requests);
    }


    [Fact]
    public async Task ReadAsync_AfterDispose_ThrowsDisconnected()
    {
        var scheduler = new BlockIoScheduler(new InstrumentedBlockDevice(64));
        await scheduler.DisposeAsync();

        var e = await Assert.ThrowsAsync<BlockDeviceException>(async () => await scheduler.ReadAsync(0, new byte[512]));

        Assert.Equal(BlockError.Disconnected, e.Error);
    }

    [Fact]
    public void WriteThenRead_RandomShapes_MatchesModelAndKeepsLimits()
    {
        var shapes = Gen.Select(
            Gen.Int[0, 2],                  // sector size: 512, 1024, 4096
            Gen.Int[1, 16],                 // device limit in sectors
            Gen.Int[1, 8],                  // queue depth
            Gen.Int[0, 2],                  // alignment: 1, 512, 4096
            Gen.Int[0, 63],                 // start sector
            Gen.Int[1, 64],                 // length in sectors
            Gen.Int[0, 15],                 // buffer offset in bytes
            Gen.Int);
        shapes.Sample((sizeIndex, limit, depth, alignIndex, start, count, bufferOffset, seed) =>
        {
            int sectorSize = new[] { 512, 1024, 4096 }[sizeIndex];
            int alignment = new[] { 1, 512, 4096 }[alignIndex];
            var device = new InstrumentedBlockDevice(128, sectorSize, limit * sectorSize, depth, alignment, seed: seed);
            var scheduler = new BlockIoScheduler(device);
            var data = new byte[count * sectorSize + bufferOffset];
            new Random(seed).NextBytes(data);
            var payload = data.AsMemory(bufferOffset);

            scheduler.WriteAsync(start, payload).AsTask().GetAwaiter().GetResult();
            var back = new byte[count * sectorSize + bufferOffset];
            scheduler.ReadAsync(start, back.AsMemory(bufferOffset)).AsTask().GetAwaiter().GetResult();

            return device.Violations.Count == 0
                && payload.Span.SequenceEqual(back.AsSpan(bufferOffset))
                && payload.Span.SequenceEqual(device.Data.AsSpan(start * sectorSize, count * sectorSize))
                && device.Writes == (count + limit - 1) / limit
                && device.Data.AsSpan(0, start * sectorSize).IndexOfAnyExcept((byte)0) < 0
                && device.Data.AsSpan((start + count) * sectorSize).IndexOfAnyExcept((byte)0) < 0;
        }, iter: 300, threads: 1);
    }

    [Fact]
    public void WriteAsync_RandomFailures_ReportsRangeOverlappingFailure()
    {
        Gen.Select(Gen.Int[1, 8], Gen.Int[1, 4], Gen.Int[0, 100], Gen.Int[1, 100], Gen.Int[0, 127], Gen.Int[1, 4])
            .Sample((limit, depth, start, count, failAt, failCount) =>
            {
                count = Math.Min(count, 128 - start);
                var device = new InstrumentedBlockDevice(128, 512, limit * 512, depth) { FailRange = (failAt, failCount) };
                var scheduler = new BlockIoScheduler(device);
                bool overlaps = failAt < start + count && start < failAt + failCount;
                try
                {
                    scheduler.WriteAsync(start, new byte[count * 512]).AsTask().GetAwaiter().GetResult();
                    return !overlaps;
                }
                catch (BlockDeviceException e)
                {
                    // The reported range is a part inside the request that holds a failed sector.
                    return overlaps && e.Error == BlockError.IoError
                        && e.Sector >= start && e.Sector + e.SectorCount <= start + count
                        && e.Sector < failAt + failCount && failAt < e.Sector + e.SectorCount
                        && device.Violations.Count == 0;
                }
            }, iter: 300, threads: 1);
    }

    private sealed class ThrowingDevice : IBlockDevice
    {
        public string Name => "bad";
        public BlockDeviceInfo Info { get; } = new(512, 64, false, 4096, 2, 512);
        public ValueTask ReadAsync(long sector, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException(new IOException("boom"));
        public ValueTask WriteAsync(long sector, ReadOnlyMemory<byte> buffer, BlockWriteFlags flags = BlockWriteFlags.None,
            CancellationToken cancellationToken = default) =>
            ValueTask.FromException(new IOException("boom"));
        public ValueTask FlushAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
