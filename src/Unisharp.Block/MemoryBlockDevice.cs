using Unisharp.Devices;

namespace Unisharp.Block;

/// <summary>
/// A disk in memory: the block device for tests and simulations. It keeps the same contract as a real
/// device (requests checked first, at most <see cref="BlockDeviceInfo.QueueDepth"/> at once).
/// </summary>
public sealed class MemoryBlockDevice : IBlockDevice
{
    private readonly byte[] _data;
    private readonly SemaphoreSlim _slots;
    private int _disposed;

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

    public async ValueTask WriteAsync(long sector, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BlockRequestCheck.Validate(Name, Info, sector, buffer.Length, write: true);
        ThrowIfDisposed(sector, buffer.Length / Info.SectorSize);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            buffer.Span.CopyTo(_data.AsSpan(checked((int)(sector * Info.SectorSize))));
        }
        finally
        {
            _slots.Release();
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed(0, 0);
        return ValueTask.CompletedTask;
    }

    private void ThrowIfDisposed(long sector, long count)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw new BlockDeviceException(Name, BlockError.Disconnected, sector, count, "the device was closed");
        }
    }

    public ValueTask DisposeAsync()
    {
        Volatile.Write(ref _disposed, 1);
        return ValueTask.CompletedTask;
    }
}
