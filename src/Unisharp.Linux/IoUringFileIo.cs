namespace Unisharp.Linux;

/// <summary>
/// One file's requests on a shared <see cref="IoUring"/>: the disks of a process share rings, each disk
/// reserving its queue depth; a ring is made when none has room and closed with its last disk.
/// </summary>
internal sealed class IoUringFileIo : IFileIo
{
    // Room for a few disks of deep queues (nr_requests is 64 to 1024); a deeper disk gets a ring of its own size.
    private const int RingEntries = 4096;

    private static readonly List<IoUring> s_rings = [];
    private static readonly Lock s_lock = new();

    private readonly IoUring _ring;
    private readonly int _fd;
    private readonly int _depth;
    private int _disposed;

    private IoUringFileIo(IoUring ring, int fd, int depth)
    {
        _ring = ring;
        _fd = fd;
        _depth = depth;
    }

    public string Kind => "io_uring";

    /// <summary>A ring with room for <paramref name="depth"/> more requests, or null with the reason when the kernel has no io_uring.</summary>
    public static IoUringFileIo? TryCreate(int fd, int depth, out string? reason)
    {
        lock (s_lock)
        {
            IoUring? ring = null;
            foreach (var candidate in s_rings)
            {
                if (candidate.Capacity - candidate.Reserved >= depth)
                {
                    ring = candidate;
                    break;
                }
            }
            if (ring is null)
            {
                ring = IoUring.TryCreate(Math.Max(depth, RingEntries), out reason);
                if (ring is null)
                {
                    return null;
                }
                s_rings.Add(ring);
            }
            ring.Reserved += depth;
            reason = null;
            return new IoUringFileIo(ring, fd, depth);
        }
    }

    public ValueTask<int> ReadAsync(nint address, int length, long offset) => _ring.ReadAsync(_fd, address, length, offset);

    public ValueTask<int> WriteAsync(nint address, int length, long offset, bool forceUnitAccess) =>
        _ring.WriteAsync(_fd, address, length, offset, forceUnitAccess);

    public ValueTask<int> FlushAsync() => _ring.FlushAsync(_fd);

    /// <summary>Gives the depth back; the last disk on a ring closes it. Nothing of this file may be in flight.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        bool last;
        lock (s_lock)
        {
            _ring.Reserved -= _depth;
            last = _ring.Reserved == 0;
            if (last)
            {
                s_rings.Remove(_ring);
            }
        }
        if (last)
        {
            _ring.Dispose();
        }
    }
}
