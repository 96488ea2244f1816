using System.Diagnostics;
using System.Globalization;
using Unisharp.Block;
using Unisharp.Logging;
using Unisharp.Linux;

// Usage: BlockBench FROM TO BUFFSIZE_SECTORS PARALLEL(true|false) [io_uring|pread] [direct|buffered]
// Copies disk FROM onto disk TO in jobs of BUFFSIZE sectors and prints "done: <ns>" and the rate.
if (args.Length < 4)
{
    Console.Error.WriteLine("usage: BlockBench FROM TO BUFFSIZE PARALLEL [io_uring|pread] [direct|buffered]");
    return 2;
}
string from = args[0];
string to = args[1];
int buffsize = int.Parse(args[2], CultureInfo.InvariantCulture);
bool parallel = bool.Parse(args[3]);
var options = new FileBlockDeviceOptions
{
    UseIoUring = args.Length < 5 || args[4] != "pread",
    Direct = args.Length < 6 || args[5] != "buffered",
    Log = new Logger(LogLevel.Warning),
};
await using var source = new BlockIoScheduler(FileBlockDevice.Open("0", from, readOnly: true, options: options));
// TO "-" only reads FROM: the read side alone, to tell the engine's cost from the copy's.
await using var destination = to == "-" ? null : new BlockIoScheduler(FileBlockDevice.Open("1", to, options: options));
var started = Stopwatch.GetTimestamp();
if (destination is null)
{
    await BlockCopy.ReadAllAsync(source, buffsize, parallel);
}
else
{
    await BlockCopy.CopyAsync(source, destination, buffsize, parallel);
}
// Timed like dd without conv=fsync: the copy, not the host's cache flush that follows it.
long ns = (long)Stopwatch.GetElapsedTime(started).TotalNanoseconds;
var flushStarted = Stopwatch.GetTimestamp();
if (destination is not null)
{
    await destination.FlushAsync();
}
long flushNs = (long)Stopwatch.GetElapsedTime(flushStarted).TotalNanoseconds;
double mbps = source.Info.SizeBytes / 1e6 / (ns / 1e9);
var engine = (FileBlockDevice)source.Device;
Console.WriteLine($"done: {ns}");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"bytes={source.Info.SizeBytes} mbps={mbps:F1} engine={engine.Engine} direct={engine.IsDirect} depth={source.Info.QueueDepth} flush_ms={flushNs / 1e6:F1}"));
return 0;
