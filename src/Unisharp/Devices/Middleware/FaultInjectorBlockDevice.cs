namespace Unisharp.Devices.Middleware;

/// <summary>
/// Wraps a block device and makes it fail on purpose, as <see cref="BlockFaultOptions"/> says: reads and writes that
/// fail, writes cut short after their first sectors, and a disk that shrinks under its user. Each fault is a
/// <see cref="BlockDeviceException"/> naming the sectors left untransferred, and is recorded in <see cref="Faults"/>,
/// so a test can check that whoever stands above reports exactly those sectors and nothing as done that was not.
/// </summary>
/// <remarks>
/// The checks of the device contract (length, range, read-only) stay the inner device's. The random choices come
/// from the options' seed, one draw sequence for all requests; with concurrent requests the order they arrive in
/// decides which one gets which draw. The device owns the inner device and disposes it.
/// </remarks>
public sealed class FaultInjectorBlockDevice : IBlockDevice
{
    private readonly IBlockDevice _inner;
    private readonly BlockFaultOptions _options;
    private readonly SeededEntropy _random;
    private readonly Lock _lock = new();
    private readonly List<BlockFault> _faults = [];
    private long _requests;
    private long _sectorsLeft;

    /// <param name="inner">The device that fails.</param>
    /// <param name="options">The faults; validated here.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public FaultInjectorBlockDevice(IBlockDevice inner, BlockFaultOptions options)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _inner = inner;
        _options = options;
        _random = new SeededEntropy(options.Seed);
        _sectorsLeft = inner.Info.SectorCount;
    }

    public string Name => _inner.Name;

    /// <summary>The inner device's, unchanged when the disk shrinks (as a disk truncated under its user still claims its size).</summary>
    public BlockDeviceInfo Info => _inner.Info;

    public BlockFaultOptions Options => _options;

    /// <summary>The faults injected so far, in the order they were.</summary>
    public IReadOnlyList<BlockFault> Faults
    {
        get
        {
            lock (_lock)
            {
                return [.. _faults];
            }
        }
    }

    /// <summary>The sectors the disk still has (its size until it shrinks).</summary>
    public long SectorsLeft
    {
        get
        {
            lock (_lock)
            {
                return _sectorsLeft;
            }
        }
    }

    public ValueTask ReadAsync(long sector, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        long count = buffer.Length / Info.SectorSize;
        lock (_lock)
        {
            if (Shrunk(sector, count) is { } shrunk)
            {
                return ValueTask.FromException(shrunk);
            }
            if (buffer.Length > 0 && Chance(_options.ReadError))
            {
                return ValueTask.FromException(Fail(BlockFaultKind.ReadError, sector, count));
            }
        }
        return _inner.ReadAsync(sector, buffer, cancellationToken);
    }

    public async ValueTask WriteAsync(long sector, ReadOnlyMemory<byte> buffer, BlockWriteFlags flags = BlockWriteFlags.None,
        CancellationToken cancellationToken = default)
    {
        int sectorSize = Info.SectorSize;
        long count = buffer.Length / sectorSize;
        long written;
        BlockDeviceException? failure;
        lock (_lock)
        {
            failure = Shrunk(sector, count);
            written = failure is null ? count : 0;
            if (failure is null && buffer.Length > 0 && Chance(_options.WriteError))
            {
                failure = Fail(BlockFaultKind.WriteError, sector, count);
                written = 0;
            }
            else if (failure is null && count > 1 && Chance(_options.ShortWrite))
            {
                written = (long)(_random.NextUInt64() % (ulong)count);
                failure = Fail(BlockFaultKind.ShortWrite, sector + written, count - written);
            }
        }
        if (written > 0)
        {
            // A short write puts its first sectors on the disk before it fails.
            await _inner.WriteAsync(sector, buffer[..checked((int)(written * sectorSize))], flags, cancellationToken).ConfigureAwait(false);
        }
        if (failure is not null)
        {
            throw failure;
        }
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => _inner.FlushAsync(cancellationToken);

    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    /// <summary>Counts the request and, once the disk has shrunk, fails one that reaches past its end.</summary>
    private BlockDeviceException? Shrunk(long sector, long count)
    {
        _requests++;
        if (_options.ShrinkAfterRequests is { } after && _requests > after)
        {
            _sectorsLeft = Math.Min(_sectorsLeft, _options.ShrinkToSectors);
        }
        if (count <= 0 || sector + count <= _sectorsLeft)
        {
            return null;
        }
        // Nothing of the request is transferred, so the fault names all of it.
        _faults.Add(new BlockFault(BlockFaultKind.Shrunk, sector, count));
        return new BlockDeviceException(Name, BlockError.OutOfRange, sector, count, $"injected: the disk shrank to {_sectorsLeft} sectors");
    }

    private BlockDeviceException Fail(BlockFaultKind kind, long sector, long count)
    {
        _faults.Add(new BlockFault(kind, sector, count));
        return new BlockDeviceException(Name, BlockError.IoError, sector, count, $"injected {kind}");
    }

    private bool Chance(double probability) => probability > 0 && _random.NextDouble() < probability;
}
