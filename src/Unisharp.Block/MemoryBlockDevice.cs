using Unisharp.Devices;

namespace Unisharp.Block;

/// <summary>
/// A disk in memory: the block device for tests and simulations. It keeps the same contract as a real
/// device (requests checked first, at most <see cref="BlockDeviceInfo.QueueDepth"/> at once). Memory is
/// always durable, so flushes and forced-unit-access writes only are counted, for tests to see them.
/// </summary>
public sealed class MemoryBlockDevice : IBlockDevice
{
    private readonly byte[] _data;
    private readonly SemaphoreSlim _slots;
    private int _disposed;
    private int _flushes;
    private int _forceUnitAccessWrites;

    /// <summary>A zeroed disk of <paramref name="sectorCount"/> sectors.</summary>
    public MemoryBlockDevice(string name, long sectorCount, int sectorSize = 512, int maxRequestBytes = 128 * 1024,
        int queueDepth = 32, bool readOnly = false)
    {
        Name = name;
        Info = new BlockDeviceInfo(sectorSize, sectorCount, readOnly, maxRequestBytes, queueDepth, sectorSize);
        Info.Validate();
        _data = new byte[checked(sectorCount * sectorSize)];
        _slots = new SemaphoreSlim(queueDepth, queueDepth);
    }

    public string Name { get; }

    public BlockDeviceInfo Info { get; }

    /// <summary>The disk's bytes, for tests to fill and check.</summary>
    public Span<byte> Data => _data;

    /// <summary>How many flushes the device completed.</summary>
    public int Flushes => Volatile.Read(ref _flushes);

    /// <summary>How many writes asked for <see cref="BlockWriteFlags.ForceUnitAccess"/>.</summary>
    public int ForceUnitAccessWrites => Volatile.Read(ref _forceUnitAccessWrites);

    public async ValueTask ReadAsync(long sector, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BlockRequestCheck.Validate(Name, Info, sector, buffer.Length, write: false);
        ThrowIfDisposed(sector, buffer.Length / Info.SectorSize);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _data.AsSpan(checked((int)(sector * Info.SectorSize)), buffer.Length).CopyTo(buffer.Span);
        }
        finally
        {
            _slots.Release();
        }
    }

    public async ValueTask WriteAsync(long sector, ReadOnlyMemory<byte> buffer, BlockWriteFlags flags = BlockWriteFlags.None,
        CancellationToken cancellationToken = default)
    {
        BlockRequestCheck.Validate(Name, Info, sector, buffer.Length, write: true);
        ThrowIfDisposed(sector, buffer.Length / Info.SectorSize);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            buffer.Span.CopyTo(_data.AsSpan(checked((int)(sector * Info.SectorSize))));
            if ((flags & BlockWriteFlags.ForceUnitAccess) != 0)
            {
                Interlocked.Increment(ref _forceUnitAccessWrites);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed(0, 0);
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _flushes);
        return ValueTask.CompletedTask;
    }

    private void ThrowIfDisposed(long sector, long count) =>
        BlockRequestCheck.ThrowIfClosed(Name, Volatile.Read(ref _disposed) != 0, sector, count);

    public ValueTask DisposeAsync()
    {
        Volatile.Write(ref _disposed, 1);
        return ValueTask.CompletedTask;
    }
}
