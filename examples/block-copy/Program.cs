using System.Globalization;
using System.Security.Cryptography;
using Unisharp.Block;
using Unisharp.Devices;
using Unisharp.Hosting;

var builder = Unikernel.CreateBuilder(args, "block-copy")
    .UseBlock("0", "The disk copied from.")
    .UseBlock("1", "The disk copied to: at least as large as disk 0, with sectors of the same size.");
var buffsize = builder.Argument(BootArgument.Int("buffsize", 50, "Sectors each copy job reads and then writes.", min: 1, max: 1 << 20));
var parallel = builder.Argument(BootArgument.Bool("parallel", false, "Run copy jobs concurrently, up to the disks' queue depth, rather than one by one."));
var verify = builder.Argument(BootArgument.Bool("verify", false, "Compare both disks after the copy (SHA-256, and the first byte that differs)."));

return builder.Run(async ctx =>
{
    var from = ctx.Block("0");
    var to = ctx.Block("1");
    ctx.Log.Info("block-copy", $"disk 0: {from.Info.SectorCount} sectors of {from.Info.SectorSize} bytes; disk 1: {to.Info.SectorCount} sectors");
    int sectorsPerJob = ctx.Get(buffsize);
    int most = BlockCopy.MaxSectorsPerJob(from.Info.SectorSize);
    if (sectorsPerJob > most)
    {
        ctx.Log.Error("block-copy", $"--buffsize={sectorsPerJob} is too large for {from.Info.SectorSize}-byte sectors: at most {most} " +
            $"({BlockCopy.MaxJobBytes} bytes per job)");
        return UnikernelBuilder.UsageExitCode;
    }
    long started = ctx.Clock.Now.Microseconds;
    await BlockCopy.CopyAsync(from, to, sectorsPerJob, ctx.Get(parallel), ctx.Stopping);
    long ns = (ctx.Clock.Now.Microseconds - started) * 1000;
    long bytes = from.Info.SectorCount * from.Info.SectorSize;
    // Timed as dd times a copy: the host's cache flush comes after. MB are 10^6 bytes, as dd's.
    string rate = ns > 0 ? (bytes * 1000.0 / ns).ToString("0.0", CultureInfo.InvariantCulture) : "-";
    ctx.Log.Info("block-copy", $"done: {bytes} bytes in {ns} ns, {rate} MB/s");
    await to.FlushAsync(ctx.Stopping);

    if (ctx.Get(verify))
    {
        var (expected, actual, firstDifference) = await CompareAsync(from, to, ctx.Stopping);
        if (firstDifference >= 0)
        {
            ctx.Log.Error("block-copy", $"verify: disk 1 differs from disk 0, first at byte {firstDifference} (sector {firstDifference / from.Info.SectorSize}): " +
                $"sha256 {Convert.ToHexStringLower(expected)} != {Convert.ToHexStringLower(actual)}");
            return 1;
        }
        ctx.Log.Info("block-copy", $"verify: sha256 {Convert.ToHexStringLower(expected)} on both disks");
    }
    return 0;
});

// The SHA-256 of disk 0 and of as many sectors of disk 1, and the offset of the first byte where they differ (-1 when none does).
static async Task<(byte[] Expected, byte[] Actual, long FirstDifference)> CompareAsync(IBlockDevice from, IBlockDevice to, CancellationToken cancellationToken)
{
    using var expected = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    using var actual = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    int sectorSize = from.Info.SectorSize;
    int chunk = Math.Max(1, 1024 * 1024 / sectorSize);
    var a = new byte[chunk * sectorSize];
    var b = new byte[chunk * sectorSize];
    long firstDifference = -1;
    for (long sector = 0; sector < from.Info.SectorCount; sector += chunk)
    {
        int length = (int)Math.Min(chunk, from.Info.SectorCount - sector) * sectorSize;
        await from.ReadAsync(sector, a.AsMemory(0, length), cancellationToken);
        await to.ReadAsync(sector, b.AsMemory(0, length), cancellationToken);
        expected.AppendData(a, 0, length);
        actual.AppendData(b, 0, length);
        int mismatch = firstDifference < 0 ? a.AsSpan(0, length).CommonPrefixLength(b.AsSpan(0, length)) : length;
        if (mismatch < length)
        {
            firstDifference = sector * sectorSize + mismatch;
        }
    }
    return (expected.GetHashAndReset(), actual.GetHashAndReset(), firstDifference);
}
