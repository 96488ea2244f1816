using System.Runtime.InteropServices;
using Unisharp.Devices;

namespace Unisharp.Block;

/// <summary>
/// The I/O scheduler under every block device: it takes requests of any size and any buffer, splits them
/// into requests the device accepts, bounces buffers the device cannot use directly through aligned ones,
/// runs the parts concurrently up to the device's queue depth, and completes the caller's request when
/// every part is done.
/// </summary>
/// <remarks>
/// A request is checked whole before any part is submitted (length and offset in whole sectors, inside the
/// device, not a write to a read-only device). When a part fails, no further part is submitted, the parts
/// in flight are waited for (their buffers stay in use until then), and the caller gets the
/// <see cref="BlockDeviceException"/> of the failed part with its sector range: a request is only
/// reported done when every sector of it was transferred. The queue depth is shared by all callers, so
/// the device never sees more than <see cref="BlockDeviceInfo.QueueDepth"/> requests at once.
/// A write's <see cref="BlockWriteFlags"/> go with every part (a forced-unit-access write is durable when
/// the caller's request completes), and a flush goes straight to the device.
/// </remarks>
public sealed class BlockIoScheduler : IBlockDevice
{
    /// <summary>The largest request the scheduler accepts (it splits anything up to this).</summary>
    public const int MaxRequestBytes = 1 << 30;

    private readonly IBlockDevice _device;
    private readonly SemaphoreSlim _slots;
    private readonly int _depth;
    private readonly int _partBytes;
    private readonly int _alignment;
    private readonly AlignedBufferPool? _bounce;
    private int _disposed;

    /// <summary>Schedules requests onto <paramref name="device"/>, which the scheduler then owns.</summary>
    public BlockIoScheduler(IBlockDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var info = device.Info;
        info.Validate();
        _device = device;
        _depth = info.QueueDepth;
        _slots = new SemaphoreSlim(_depth, _depth);
        _alignment = info.MemoryAlignment;
        _partBytes = info.MaxRequestBytes;
        if (_alignment > 1)
        {
            _bounce = new AlignedBufferPool(_partBytes, _alignment);
        }
        Info = info with { MaxRequestBytes = MaxRequestBytes / info.SectorSize * info.SectorSize, MemoryAlignment = 1 };
    }

    public string Name => _device.Name;

    /// <summary>The device's geometry, with a large largest request and no buffer alignment (the scheduler handles both).</summary>
    public BlockDeviceInfo Info { get; }

    /// <summary>The device requests go to.</summary>
    public IBlockDevice Device => _device;

    /// <summary>How many aligned bounce buffers exist (at most the queue depth).</summary>
    internal int BounceBuffersCreated => _bounce?.Created ?? 0;

    public ValueTask ReadAsync(long sector, Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BlockRequestCheck.Validate(Name, Info, sector, buffer.Length, write: false);
        return RunAsync(sector, buffer, write: false, BlockWriteFlags.None, cancellationToken);
    }

    public ValueTask WriteAsync(long sector, ReadOnlyMemory<byte> buffer, BlockWriteFlags flags = BlockWriteFlags.None,
        CancellationToken cancellationToken = default)
    {
        // The read-only check comes first in Validate: nothing is touched for a refused write.
        BlockRequestCheck.Validate(Name, Info, sector, buffer.Length, write: true);
        // The buffer is only read from on this path; the cast lets reads and writes share one splitter.
        return RunAsync(sector, MemoryMarshal.AsMemory(buffer), write: true, flags, cancellationToken);
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed(0, 0);
        await _device.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private ValueTask RunAsync(long sector, Memory<byte> buffer, bool write, BlockWriteFlags flags, CancellationToken cancellationToken)
    {
        ThrowIfDisposed(sector, buffer.Length / Info.SectorSize);
        return buffer.Length <= _partBytes
            ? RunOneAsync(sector, buffer, write, flags, cancellationToken)
            : RunManyAsync(sector, buffer, write, flags, cancellationToken);
    }

    // The common case: one part, no task per part.
    private async ValueTask RunOneAsync(long sector, Memory<byte> buffer, bool write, BlockWriteFlags flags, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await SubmitPartAsync(sector, buffer, write, flags, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }

    private async ValueTask RunManyAsync(long sector, Memory<byte> buffer, bool write, BlockWriteFlags flags, CancellationToken cancellationToken)
    {
        int sectorSize = Info.SectorSize;
        int partCount = (buffer.Length + _partBytes - 1) / _partBytes;
        var parts = new Task[partCount];
        var request = new RequestState();
        int submitted = 0;
        bool cancelled = false;
        for (int offset = 0; offset < buffer.Length && !request.Failed; offset += _partBytes)
        {
            try
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                cancelled = true;
                break;
            }
            if (request.Failed)
            {
                // A part failed while we waited for the slot: submit nothing more.
                _slots.Release();
                break;
            }
            int length = Math.Min(_partBytes, buffer.Length - offset);
            parts[submitted++] = RunPartAsync(request, sector + offset / sectorSize, buffer.Slice(offset, length), write, flags, cancellationToken);
        }

        // Every part in flight still uses the caller's buffer (or a bounce buffer): wait for all of them
        // before the request completes either way.
        BlockDeviceException? failure = null;
        Exception? other = null;
        for (int i = 0; i < submitted; i++)
        {
            try
            {
                await parts[i].ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                cancelled = true;
            }
            catch (BlockDeviceException e)
            {
                // Parts are in sector order: the first failure is the lowest failed range.
                failure ??= e;
            }
            catch (Exception e)
            {
                other ??= e;
            }
        }
        if (failure is not null)
        {
            throw failure;
        }
        if (other is not null)
        {
            throw other;
        }
        if (cancelled)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new OperationCanceledException();
        }
    }

    private async Task RunPartAsync(RequestState request, long sector, Memory<byte> buffer, bool write, BlockWriteFlags flags,
        CancellationToken cancellationToken)
    {
        try
        {
            await SubmitPartAsync(sector, buffer, write, flags, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            request.Failed = true;
            throw;
        }
        finally
        {
            _slots.Release();
        }
    }

    // One part the device accepts as it is (length within its limit), holding a queue slot.
    private async ValueTask SubmitPartAsync(long sector, Memory<byte> buffer, bool write, BlockWriteFlags flags, CancellationToken cancellationToken)
    {
        try
        {
            if (_bounce is null || BlockRequestCheck.IsAligned(buffer, _alignment))
            {
                if (write)
                {
                    await _device.WriteAsync(sector, buffer, flags, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await _device.ReadAsync(sector, buffer, cancellationToken).ConfigureAwait(false);
                }
                return;
            }
            var bounce = _bounce.Rent();
            try
            {
                var aligned = bounce.Memory[..buffer.Length];
                if (write)
                {
                    buffer.Span.CopyTo(aligned.Span);
                    await _device.WriteAsync(sector, aligned, flags, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await _device.ReadAsync(sector, aligned, cancellationToken).ConfigureAwait(false);
                    aligned.Span.CopyTo(buffer.Span);
                }
            }
            finally
            {
                _bounce.Return(bounce);
            }
        }
        catch (Exception e) when (e is not BlockDeviceException and not OperationCanceledException)
        {
            // Whatever the device threw, the caller learns which sectors failed.
            throw new BlockDeviceException(Name, BlockError.IoError, sector, buffer.Length / Info.SectorSize, e.Message, e);
        }
    }


    private void ThrowIfDisposed(long sector, long count) =>
        BlockRequestCheck.ThrowIfClosed(Name, Volatile.Read(ref _disposed) != 0, sector, count);

    /// <summary>Waits for the requests in flight, then closes the device and frees the bounce buffers.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        for (int i = 0; i < _depth; i++)
        {
            await _slots.WaitAsync().ConfigureAwait(false);
        }
        await _device.DisposeAsync().ConfigureAwait(false);
        _bounce?.Free();
    }

    private sealed class RequestState
    {
        private volatile bool _failed;

        public bool Failed
        {
            get => _failed;
            set => _failed = value;
        }
    }
}
