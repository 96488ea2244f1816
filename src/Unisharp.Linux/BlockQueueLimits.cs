using System.Globalization;

namespace Unisharp.Linux;

/// <summary>
/// What the kernel says about a block device's request queue, from
/// <c>/sys/dev/block/MAJ:MIN/queue/*</c> (Documentation/ABI/stable/sysfs-block).
/// </summary>
/// <param name="LogicalBlockSize">The smallest unit the device addresses (<c>logical_block_size</c>).</param>
/// <param name="PhysicalBlockSize">The device's internal block (<c>physical_block_size</c>).</param>
/// <param name="MaxRequestBytes">The largest request the kernel sends it (<c>max_sectors_kb</c> × 1024).</param>
/// <param name="QueueDepth">Requests the queue holds (<c>nr_requests</c>).</param>
/// <param name="OptimalIoBytes">The preferred request size, 0 when not given (<c>optimal_io_size</c>).</param>
/// <param name="SizeBytes">The device's size (<c>size</c>, always in 512-byte units).</param>
/// <param name="ReadOnly">The kernel refuses writes to it (<c>ro</c> is 1; absent counts as writable).</param>
internal readonly record struct BlockQueueLimits(int LogicalBlockSize, int PhysicalBlockSize, int MaxRequestBytes,
    int QueueDepth, int OptimalIoBytes, long SizeBytes, bool ReadOnly = false)
{
    /// <summary>Reads the limits of device <paramref name="major"/>:<paramref name="minor"/>.</summary>
    /// <exception cref="IOException">The sysfs files are missing or malformed.</exception>
    public static BlockQueueLimits Read(uint major, uint minor, string sysfsRoot = "/sys")
    {
        string device = Path.Combine(sysfsRoot, "dev", "block", $"{major}:{minor}");
        string queue = Path.Combine(device, "queue");
        if (!Directory.Exists(queue))
        {
            // A partition has no queue of its own: it shares its disk's, one level up from the real path.
            var target = Directory.ResolveLinkTarget(device, returnFinalTarget: true)?.FullName ?? device;
            queue = Path.Combine(Path.GetDirectoryName(target) ?? target, "queue");
        }
        return new BlockQueueLimits(
            ReadInt(queue, "logical_block_size"),
            ReadInt(queue, "physical_block_size"),
            checked(ReadInt(queue, "max_sectors_kb") * 1024),
            ReadInt(queue, "nr_requests"),
            ReadInt(queue, "optimal_io_size"),
            checked(ReadLong(device, "size") * 512),
            File.Exists(Path.Combine(device, "ro")) && ReadLong(device, "ro") != 0);
    }

    private static int ReadInt(string directory, string name) => checked((int)ReadLong(directory, name));

    private static long ReadLong(string directory, string name)
    {
        string path = Path.Combine(directory, name);
        string text = File.ReadAllText(path).Trim();
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new IOException($"{path}: '{text}' is not a number");
    }
}
