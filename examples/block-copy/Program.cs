using System.Security.Cryptography;
using Unisharp.Block;
using Unisharp.Devices;
using Unisharp.Hosting;

var builder = Unikernel.CreateBuilder(args, "block-copy").UseBlock("0").UseBlock("1");
var buffsize = builder.Argument(BootArgument.Int("buffsize", 50, "Sectors each copy job reads and then writes.", min: 1, max: 1 << 20));
var parallel = builder.Argument(BootArgument.Bool("parallel", false, "Run copy jobs concurrently, up to the disks' queue depth, rather than one by one."));
var verify = builder.Argument(BootArgument.Bool("verify", false, "Compare the SHA-256 of both disks after the copy."));

return builder.Run(async ctx =>
{
    var from = ctx.Block("0");
    var to = ctx.Block("1");
    ctx.Log.Info("block-copy", $"disk 0: {from.Info.SectorCount} sectors of {from.Info.SectorSize} bytes; disk 1: {to.Info.SectorCount} sectors");
    long started = ctx.Clock.Now.Microseconds;
    await BlockCopy.CopyAsync(from, to, ctx.Get(buffsize), ctx.Get(parallel), ctx.Stopping);
    long ns = (ctx.Clock.Now.Microseconds - started) * 1000;
    // Timed as dd times a copy: the host's cache flush comes after.
    ctx.Log.Info("block-copy", $"done: {ns}");
    await to.FlushAsync(ctx.Stopping);

    if (ctx.Get(verify))
    {
        var expected = await Sha256Async(from, from.Info.SectorCount, ctx.Stopping);
        var actual = await Sha256Async(to, from.Info.SectorCount, ctx.Stopping);
        if (!expected.AsSpan().SequenceEqual(actual))
        {
            ctx.Log.Error("block-copy", $"verify: disk 1 differs: {Convert.ToHexStringLower(expected)} != {Convert.ToHexStringLower(actual)}");
            return 1;
        }
        ctx.Log.Info("block-copy", $"verify: sha256 {Convert.ToHexStringLower(expected)} on both disks");
    }
    return 0;
});

static async Task<byte[]> Sha256Async(IBlockDevice disk, long sectors, CancellationToken cancellationToken)
{
    using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    int chunk = Math.Max(1, 1024 * 1024 / disk.Info.SectorSize);
    var buffer = new byte[chunk * disk.Info.SectorSize];
    for (long sector = 0; sector < sectors; sector += chunk)
    {
        int count = (int)Math.Min(chunk, sectors - sector);
        var part = buffer.AsMemory(0, count * disk.Info.SectorSize);
        await disk.ReadAsync(sector, part, cancellationToken);
        hash.AppendData(part.Span);
    }
    return hash.GetHashAndReset();
}
