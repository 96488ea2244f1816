using Unisharp.Devices;

namespace Unisharp.Block.Tests;

/// <summary>
/// An in-memory device that checks everything the scheduler promises: every request within the device's
/// limits and aligned as it asks, never more than its queue depth in flight; it can fail a sector range
/// and finishes requests out of order.
/// </summary>
internal sealed class InstrumentedBlockDevice : IBlockDevice
{
    private readonly byte[] _data;
    private readonly Random _random;
    private readonly Lock _lock = new();
    private int _inFlight;

    public InstrumentedBlockDevice(long sectorCount, int sectorSize = 512, int maxRequestBytes = 4096, int queueDepth = 4,
        int memoryAlignment = 1, bool readOnly = false, int seed = 1)
    {
        Info = new BlockDeviceInfo(sectorSize, sectorCount, readOnly, maxRequestBytes, queueDepth, sectorSize, 0, memoryAlignment);
        _data = new byte[sectorCount * sectorSize];
        _random = new Random(seed);
    }

    public string Name => "test";
    public BlockDeviceInfo Info { get; }
    public byte[] Data => _data;

    public int MaxInFlight { get; private set; }

    /// <summary>Requests under way now.</summary>
    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _inFlight;
            }
        }
    }
    public int Requests { get; private set; }
    public int Writes { get; private set; }
    public List<string> Violations { get; } = [];

    /// <summary>Sectors whose requests fail with an I/O error.</summary>
    public (long First, long Count)? FailRange { get; set; }

    /// <summary>Requests wait on this before completing, when set.</summary>
    public TaskCompletionSource? Gate { get; set; }

    /// <summary>Flushes the device received.</summary>
    public int Flushes { get; private set; }

    /// <summary>Writes completed before the last flush arrived.</summary>
    public int WritesCompletedAtLastFlush { get; private set; }

    /// <summary>Writes that asked for forced unit access, and the sectors they covered.</summary>
    public int ForceUnitAccessWrites { get; private set; }
    public long ForceUnitAccessSectors { get; private set; }

    private int _writesCompleted;

    public ValueTask ReadAsync(long sector, Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        RunAsync(sector, buffer, write: false, cancellationToken);

    public ValueTask WriteAsync(long sector, ReadOnlyMemory<byte> buffer, BlockWriteFlags flags = BlockWriteFlags.None,
        CancellationToken cancellationToken = default) =>
        RunAsync(sector, System.Runtime.InteropServices.MemoryMarshal.AsMemory(buffer), write: true, cancellationToken, flags);

    private async ValueTask RunAsync(long sector, Memory<byte> buffer, bool write, CancellationToken cancellationToken,
        BlockWriteFlags flags = BlockWriteFlags.None)
    {
        BlockRequestCheck.Validate(Name, Info, sector, buffer.Length, write);
        CheckAlignment(buffer);
        int delay;
        lock (_lock)
        {
            Requests++;
            if (write)
            {
                Writes++;
                if ((flags & BlockWriteFlags.ForceUnitAccess) != 0)
                {
                    ForceUnitAccessWrites++;
                    ForceUnitAccessSectors += buffer.Length / Info.SectorSize;
                }
            }
            _inFlight++;
            MaxInFlight = Math.Max(MaxInFlight, _inFlight);
            if (_inFlight > Info.QueueDepth)
            {
                Violations.Add($"{_inFlight} requests in flight, depth {Info.QueueDepth}");
            }
            delay = _random.Next(3);
        }
        try
        {
            // Yield a random number of times so parts complete out of order.
            for (int i = 0; i < delay; i++)
            {
                await Task.Yield();
            }
            if (Gate is { } gate)
            {
                await gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            long count = buffer.Length / Info.SectorSize;
            if (FailRange is var (first, failCount) && sector < first + failCount && first < sector + count)
            {
                throw new BlockDeviceException(Name, BlockError.IoError, sector, count, "injected failure");
            }
            var disk = _data.AsSpan(checked((int)(sector * Info.SectorSize)), buffer.Length);
            if (write)
            {
                buffer.Span.CopyTo(disk);
                lock (_lock)
                {
                    _writesCompleted++;
                }
            }
            else
            {
                disk.CopyTo(buffer.Span);
            }
        }
        finally
        {
            lock (_lock)
            {
                _inFlight--;
            }
        }
    }

    private unsafe void CheckAlignment(Memory<byte> buffer)
    {
        using var pin = buffer.Pin();
        if (((nuint)pin.Pointer & (nuint)(Info.MemoryAlignment - 1)) != 0)
        {
            lock (_lock)
            {
                Violations.Add($"buffer at 0x{(nuint)pin.Pointer:x} is not {Info.MemoryAlignment}-aligned");
            }
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            Flushes++;
            WritesCompletedAtLastFlush = _writesCompleted;
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
