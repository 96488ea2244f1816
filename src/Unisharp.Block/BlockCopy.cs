using Unisharp.Devices;

namespace Unisharp.Block;

/// <summary>
/// Copies one disk onto another in jobs of a fixed number of sectors (the seed's block benchmark):
/// one job at a time, or up to the destination's queue depth at once.
/// </summary>
public static class BlockCopy
{
    /// <summary>
    /// Copies every sector of <paramref name="source"/> to the same sector of <paramref name="destination"/>.
    /// </summary>
    /// <param name="sectorsPerJob">Sectors each job reads and then writes.</param>
    /// <param name="parallel">Run jobs concurrently (as many as the destination's queue depth) rather than one by one.</param>
    /// <exception cref="ArgumentException">The disks differ in sector size, the destination is smaller, or a job would
    /// be larger than <see cref="MaxJobBytes"/>.</exception>
    /// <exception cref="BlockDeviceException">A read or write failed; nothing after it is reported copied.</exception>
    public static async Task CopyAsync(IBlockDevice source, IBlockDevice destination, int sectorsPerJob, bool parallel,
        CancellationToken cancellationToken = default)
    {
        CheckJob(sectorsPerJob, source.Info.SectorSize);
        var from = source.Info;
        var to = destination.Info;
        if (from.SectorSize != to.SectorSize)
        {
            throw new ArgumentException($"disk '{source.Name}' has {from.SectorSize}-byte sectors and '{destination.Name}' {to.SectorSize}-byte ones");
        }
        if (to.SectorCount < from.SectorCount)
        {
            throw new ArgumentException($"disk '{destination.Name}' ({to.SectorCount} sectors) is smaller than '{source.Name}' ({from.SectorCount})");
        }
        long jobs = (from.SectorCount + sectorsPerJob - 1) / sectorsPerJob;
        int workers = parallel ? Workers(from, to, sectorsPerJob, jobs) : 1;
        if (workers <= 1)
        {
            await CopyJobsAsync(source, destination, sectorsPerJob, new JobCounter(jobs), cancellationToken).ConfigureAwait(false);
            return;
        }
        // Workers take the next job as they finish one, so the queue stays full to the end.
        var counter = new JobCounter(jobs);
        var running = new Task[workers];
        for (int i = 0; i < workers; i++)
        {
            running[i] = CopyJobsAsync(source, destination, sectorsPerJob, counter, cancellationToken);
        }
        await Task.WhenAll(running).ConfigureAwait(false);
    }

    /// <summary>Reads every sector of <paramref name="source"/> in jobs, as <see cref="CopyAsync"/> would, and drops the data.</summary>
    public static async Task ReadAllAsync(IBlockDevice source, int sectorsPerJob, bool parallel, CancellationToken cancellationToken = default)
    {
        CheckJob(sectorsPerJob, source.Info.SectorSize);
        long jobs = (source.Info.SectorCount + sectorsPerJob - 1) / sectorsPerJob;
        int workers = parallel ? Workers(source.Info, source.Info, sectorsPerJob, jobs) : 1;
        var counter = new JobCounter(jobs);
        var running = new Task[workers];
        for (int i = 0; i < workers; i++)
        {
            running[i] = CopyJobsAsync(source, null, sectorsPerJob, counter, cancellationToken);
        }
        await Task.WhenAll(running).ConfigureAwait(false);
    }

    /// <summary>The most bytes one job moves (each job, or worker, has a buffer of its size).</summary>
    public const int MaxJobBytes = 1 << 30;

    /// <summary>The most sectors of <paramref name="sectorSize"/> bytes one job can move.</summary>
    public static int MaxSectorsPerJob(int sectorSize) => MaxJobBytes / sectorSize;

    private static void CheckJob(int sectorsPerJob, int sectorSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sectorsPerJob, 1);
        if (sectorsPerJob > MaxSectorsPerJob(sectorSize))
        {
            throw new ArgumentException($"a job of {sectorsPerJob} sectors of {sectorSize} bytes is {(long)sectorsPerJob * sectorSize} bytes: " +
                $"at most {MaxSectorsPerJob(sectorSize)} sectors ({MaxJobBytes} bytes) per job");
        }
    }

    private static async Task CopyJobsAsync(IBlockDevice source, IBlockDevice? destination, int sectorsPerJob, JobCounter counter,
        CancellationToken cancellationToken)
    {
        int sectorSize = source.Info.SectorSize;
        long sectorCount = source.Info.SectorCount;
        // One buffer per worker, page-aligned so a direct device needs no bounce copy.
        using var buffer = new AlignedBuffer(checked(sectorsPerJob * sectorSize), 4096);
        while (counter.TryTake(out long job))
        {
            if (counter.Failed)
            {
                return;
            }
            long sector = job * sectorsPerJob;
            int count = (int)Math.Min(sectorsPerJob, sectorCount - sector);
            var memory = buffer.Memory[..(count * sectorSize)];
            try
            {
                await source.ReadAsync(sector, memory, cancellationToken).ConfigureAwait(false);
                if (destination is not null)
                {
                    await destination.WriteAsync(sector, memory, BlockWriteFlags.None, cancellationToken).ConfigureAwait(false);
                }
            }
            catch
            {
                counter.Failed = true;
                throw;
            }
        }
    }

    // As many jobs at once as both queues take, but no more than MaxBytesInFlight of buffers: past a few
    // megabytes in flight a disk is no faster, and each job holds its own buffer.
    private static int Workers(BlockDeviceInfo from, BlockDeviceInfo to, int sectorsPerJob, long jobs)
    {
        long jobBytes = (long)sectorsPerJob * from.SectorSize;
        long byMemory = Math.Max(1, MaxBytesInFlight / jobBytes);
        return (int)Math.Max(1, Math.Min(Math.Min(Math.Min(from.QueueDepth, to.QueueDepth), byMemory), jobs));
    }

    /// <summary>The most buffer memory a parallel copy keeps in flight.</summary>
    public const long MaxBytesInFlight = 16 * 1024 * 1024;

    private sealed class JobCounter(long jobs)
    {
        private long _next = -1;
        private volatile bool _failed;

        public bool Failed
        {
            get => _failed;
            set => _failed = value;
        }

        public bool TryTake(out long job)
        {
            job = Interlocked.Increment(ref _next);
            return job < jobs;
        }
    }
}
