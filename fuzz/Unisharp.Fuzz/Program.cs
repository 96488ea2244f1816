using SharpFuzz;
using Unisharp.Fuzz;

// Unisharp.Fuzz TARGET             : run under afl-fuzz (SharpFuzz's fork server), one input per execution
// Unisharp.Fuzz TARGET FILE|DIR... : replay inputs without AFL (a crash reproduces with its exception)
if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: Unisharp.Fuzz TARGET [FILE|DIR]...  (targets: {string.Join(", ", FuzzTargets.All.Keys)})");
    return 2;
}
if (args.Length == 1)
{
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        target(buffer.ToArray());
    });
    return 0;
}
int replayed = 0;
foreach (string path in args.Skip(1))
{
    string[] files = Directory.Exists(path) ? [.. Directory.GetFiles(path).Order(StringComparer.Ordinal)] : [path];
    foreach (string file in files)
    {
        target(File.ReadAllBytes(file));
        replayed++;
        if (Environment.GetEnvironmentVariable("UNISHARP_FUZZ_VERBOSE") == "1")
        {
            Console.WriteLine($"{file}: ok{args[0] switch { "stack" => $"; {StackRun.Summary}", "dns-resolver" => $"\n{DnsResolverTarget.Summary}", _ => "" }}");
        }
    }
}
Console.WriteLine($"{args[0]}: {replayed} inputs, no failure");
return 0;
