namespace Unisharp.Devices;

/// <summary>
/// A disk: whole sectors read and written at a sector offset, several requests in flight at once.
/// </summary>
/// <remarks>
/// A request's length must be a whole number of <see cref="BlockDeviceInfo.SectorSize"/> sectors, at
/// most <see cref="BlockDeviceInfo.MaxRequestBytes"/>, and inside the device; a write to a read-only
/// device is refused. Each of these fails with a <see cref="BlockDeviceException"/> before any data is
/// touched. At most <see cref="BlockDeviceInfo.QueueDepth"/> requests run at once; further ones wait
/// their turn. Completion of a write means the device has it; <see cref="FlushAsync"/> makes it durable, or
/// <see cref="BlockWriteFlags.ForceUnitAccess"/> makes that one write durable before it completes.
/// </remarks>
public interface IBlockDevice : IAsyncDisposable
{
    /// <summary>The name the app knows the disk by (the NAME of <c>--disk NAME=PATH</c>).</summary>
    string Name { get; }

    BlockDeviceInfo Info { get; }

    /// <summary>Reads <c>buffer.Length / SectorSize</c> sectors starting at <paramref name="sector"/>.</summary>
    ValueTask ReadAsync(long sector, Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>Writes <c>buffer.Length / SectorSize</c> sectors starting at <paramref name="sector"/>.</summary>
    /// <param name="flags"><see cref="BlockWriteFlags.ForceUnitAccess"/>: complete only once the data is durable.</param>
    ValueTask WriteAsync(long sector, ReadOnlyMemory<byte> buffer, BlockWriteFlags flags = BlockWriteFlags.None,
        CancellationToken cancellationToken = default);

    /// <summary>Makes every completed write durable (a cache flush: <c>fdatasync</c> on Linux).</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken = default);
}
