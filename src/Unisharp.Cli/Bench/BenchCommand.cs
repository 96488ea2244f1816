using System.CommandLine;
using System.Runtime.InteropServices;
using Unisharp.Cli.Building;

namespace Unisharp.Cli.Bench;

/// <summary><c>unisharp bench net|block</c>: the seed's two benchmarks, with their Linux and lwIP peers in the same run.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench",
            "Run a benchmark (net, block, http) with its peers in the same run; writes DATE-BENCH.csv, .png and .md into bench/results (or --out). Needs root.");
        bench.Subcommands.Add(Net());
        bench.Subcommands.Add(Block());
        bench.Subcommands.Add(Http());
        return bench;
    }

    private static Command Net()
    {
        var clients = new Option<string>("--clients") { Description = "Client counts to measure, comma-separated.", DefaultValueFactory = _ => "1,2,4,8", HelpName = "N,N,..." };
        var bytes = new Option<string>("--bytes") { Description = "Bytes each client sends (K, M, G suffixes).", DefaultValueFactory = _ => "512M", HelpName = "SIZE" };
        var targets = new Option<string>("--targets")
        {
            Description = "Receivers: unix-direct (our stack, TAP), unix-socket (the Linux kernel, veth), lwip (lwIP 2.1, TAP), ack (the physical limit: a pure ACK per frame, no stack, TAP), qemu, firecracker.",
            DefaultValueFactory = _ => string.Join(',', NetBench.Known),
            HelpName = "T,T,...",
        };
        var reps = new Option<int>("--reps") { Description = "Runs at each client count; the median is reported.", DefaultValueFactory = _ => 1, HelpName = "N" };
        var warmup = new Option<string>("--warmup") { Description = "An untimed first connection to each receiver of SIZE bytes; 0 for none.", DefaultValueFactory = _ => "16M", HelpName = "SIZE" };
        var client = new Option<string>("--client")
        {
            Description = "The clients: socket (a thread each, sends from memory) or nc (dd if=/dev/zero | nc -N, as bench/net/run.py).",
            DefaultValueFactory = _ => NetClients.Socket,
            HelpName = "socket|nc",
        };
        var mode = new Option<string>("--mode")
        {
            Description = "receive: the clients send, the target receives; send: examples/network --send sends SIZE to each client; udp-echo: examples/echo echoes SIZE/64 datagrams of 64 bytes per client (both: unix-direct, unix-socket; socket clients).",
            DefaultValueFactory = _ => NetBench.Receive,
            HelpName = "receive|send|udp-echo",
        };
        var (output, timeout, tag) = (Out(), Timeout(300), Tag());
        var command = new Command("net",
            "TCP throughput: N clients one virtual link away each send SIZE bytes of zeros to examples/network (or a peer's sink) on each target, or receive them (--mode send).")
        { clients, bytes, targets, reps, warmup, client, mode, output, tag, timeout };
        command.SetAction((r, ct) =>
        {
            string direction = BenchArguments.Choice("--mode", r.GetValue(mode)!, NetBench.Modes);
            if (direction != NetBench.Receive && r.GetValue(client)!.Trim() != NetClients.Socket)
            {
                throw new CliException($"invalid --client '{r.GetValue(client)}' with --mode {direction}: only the socket clients (the default) do that", CliException.Usage);
            }
            return WithSignals(ct, token => NetBench.RunAsync(new NetBenchOptions(
            BenchArguments.PositiveInts("--clients", r.GetValue(clients)!, 256).Distinct().ToArray(),
            BenchArguments.Bytes("--bytes", r.GetValue(bytes)!),
            BenchArguments.Count("--reps", r.GetValue(reps), 100),
            BenchArguments.Names("--targets", r.GetValue(targets)!, NetBench.Known),
            OutDirectory(r.GetValue(output)),
            BenchArguments.Seconds("--timeout", r.GetValue(timeout)),
            r.GetValue(warmup)!.Trim() == "0" ? 0 : BenchArguments.Bytes("--warmup", r.GetValue(warmup)!),
            BenchArguments.Choice("--client", r.GetValue(client)!, NetClients.Kinds),
            BenchArguments.Tag("--tag", r.GetValue(tag)),
            direction), token));
        });
        return command;
    }

    private static Command Http()
    {
        var tools = new Option<string?>("--tools")
        {
            Description = "Load generators: wrk (keep-alive, for --duration), ab (a new connection per request), ab-k (ab with HTTP/1.0 keep-alive), " +
                "wrk-tls (wrk over HTTPS, --app aspnet only). [default: wrk,ab,ab-k; with --app aspnet also wrk-tls]",
            HelpName = "T,T,...",
        };
        var targets = new Option<string>("--targets")
        {
            Description = "Servers: unix-direct (our stack, TAP), unix-socket (the Linux kernel, veth).",
            DefaultValueFactory = _ => string.Join(',', HttpBench.Known),
            HelpName = "T,T,...",
        };
        var reps = new Option<int>("--reps") { Description = "Rounds; the servers' order alternates, the median is reported.", DefaultValueFactory = _ => 3, HelpName = "N" };
        var duration = new Option<int>("--duration") { Description = "Seconds of each wrk run.", DefaultValueFactory = _ => 10, HelpName = "SECONDS" };
        var app = new Option<string>("--app")
        {
            Description = "The example served: http (the hand-written HTTP/1.1 responder) or aspnet (ASP.NET Core's Kestrel on the app's stack).",
            DefaultValueFactory = _ => "http",
            HelpName = "APP",
        };
        var connections = new Option<int>("--connections") { Description = "wrk's open connections (-c).", DefaultValueFactory = _ => 64, HelpName = "N" };
        var threads = new Option<int>("--threads") { Description = "wrk's threads (-t).", DefaultValueFactory = _ => 2, HelpName = "N" };
        var requests = new Option<int>("--requests") { Description = "ab's requests per run (-n).", DefaultValueFactory = _ => 5000, HelpName = "N" };
        var concurrency = new Option<int>("--concurrency") { Description = "ab's requests in flight (-c).", DefaultValueFactory = _ => 50, HelpName = "N" };
        var (output, timeout, tag) = (Out(), Timeout(120), Tag());
        var command = new Command("http",
            "HTTP requests/s and p99 latency: wrk and ab against examples/http on our stack (TAP) and on Linux's (--net socket, veth), in one run.")
        { tools, targets, app, reps, duration, connections, threads, requests, concurrency, output, tag, timeout };
        command.SetAction((r, ct) =>
        {
            string chosenApp = BenchArguments.Names("--app", r.GetValue(app)!, HttpBench.Apps) is [string one] ? one
                : throw new CliException($"invalid --app '{r.GetValue(app)}': name one of {string.Join(", ", HttpBench.Apps)}", CliException.Usage);
            var options = new HttpBenchOptions(
                r.GetValue(tools) is { } named ? BenchArguments.Names("--tools", named, HttpClients.Tools) : HttpClients.DefaultTools(chosenApp),
                BenchArguments.Names("--targets", r.GetValue(targets)!, HttpBench.Known),
                BenchArguments.Count("--reps", r.GetValue(reps), 100),
                TimeSpan.FromSeconds(BenchArguments.Count("--duration", r.GetValue(duration), 3600)),
                BenchArguments.Count("--connections", r.GetValue(connections), 10_000),
                BenchArguments.Count("--threads", r.GetValue(threads), 64),
                BenchArguments.Count("--requests", r.GetValue(requests), 10_000_000),
                BenchArguments.Count("--concurrency", r.GetValue(concurrency), 20_000),
                OutDirectory(r.GetValue(output)),
                BenchArguments.Seconds("--timeout", r.GetValue(timeout)),
                BenchArguments.Tag("--tag", r.GetValue(tag)),
                chosenApp);
            if (options.Tools.Contains(HttpClients.WrkTls) && options.App != "aspnet")
            {
                throw new CliException($"invalid --tools '{HttpClients.WrkTls}': examples/{options.App} serves no HTTPS (--app aspnet does)", CliException.Usage);
            }
            if (options.Threads > options.Connections)
            {
                throw new CliException($"invalid --threads '{options.Threads}': wrk needs at least one connection per thread (--connections {options.Connections})", CliException.Usage);
            }
            if (options.Concurrency > options.Requests)
            {
                throw new CliException($"invalid --concurrency '{options.Concurrency}': ab cannot keep more requests in flight than --requests {options.Requests}", CliException.Usage);
            }
            return WithSignals(ct, token => HttpBench.RunAsync(options, token));
        });
        return command;
    }

    /// <summary>
    /// Runs a bench with Ctrl-C and SIGTERM turned into cancellation: the bench stops its clients and servers and
    /// deletes its namespaces (here too, at once, in case the bench is stuck in a call that does not watch the token).
    /// </summary>
    private static async Task<int> WithSignals(CancellationToken cancellationToken, Func<CancellationToken, Task<int>> bench)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            Progress.Info("bench: stopping (signal): ending the servers and deleting the namespaces");
            stop.Cancel();
            BenchNamespaces.DeleteAll();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        try
        {
            return await bench(stop.Token).ConfigureAwait(false);
        }
        finally
        {
            BenchNamespaces.DeleteAll();
        }
    }

    private static Command Block()
    {
        var sizes = new Option<string>("--sizes") { Description = "Copy block sizes in 512-byte sectors, comma-separated.", DefaultValueFactory = _ => "1,2,5,10,20,50,100,200,500,1000,2000", HelpName = "N,N,..." };
        var parallel = new Option<string>("--parallel") { Description = "Our targets' copy mode: serial (false), parallel (true) or both.", DefaultValueFactory = _ => "both", HelpName = "both|true|false" };
        var targets = new Option<string>("--targets") { Description = "Our targets: unix, qemu, firecracker (dd and fio always run).", DefaultValueFactory = _ => string.Join(',', BlockBench.Known), HelpName = "T,T,..." };
        var diskMib = new Option<int>("--disk-mib") { Description = "Size of each disk in MiB.", DefaultValueFactory = _ => 256, HelpName = "MIB" };
        var reps = new Option<int>("--reps") { Description = "Runs of each tool at each size; the median is reported.", DefaultValueFactory = _ => 5, HelpName = "N" };
        var dir = new Option<string>("--dir") { Description = "Where the two disk files live (a filesystem with O_DIRECT, not tmpfs).", DefaultValueFactory = _ => "/var/tmp/unisharp-bench-block", HelpName = "DIR" };
        var (output, timeout, tag) = (Out(), Timeout(600), Tag());
        var command = new Command("block",
            "Disk copy throughput: examples/block-copy on each target (serial, parallel), dd and fio copy disk 0 onto disk 1 in blocks of N sectors.")
        { sizes, parallel, targets, diskMib, reps, dir, output, tag, timeout };
        command.SetAction((r, ct) =>
        {
            int mib = r.GetValue(diskMib);
            int runs = r.GetValue(reps);
            if (mib < 1 || mib > 65536)
            {
                throw new CliException($"invalid --disk-mib '{mib}': expected 1 to 65536", CliException.Usage);
            }
            bool[] modes = r.GetValue(parallel) switch
            {
                "true" => [true],
                "false" => [false],
                "both" => [false, true],
                var other => throw new CliException($"invalid --parallel '{other}': expected both, true or false", CliException.Usage),
            };
            return WithSignals(ct, token => BlockBench.RunAsync(new BlockBenchOptions(
                BenchArguments.PositiveInts("--sizes", r.GetValue(sizes)!, 1 << 16).Distinct().ToArray(),
                modes,
                BenchArguments.Names("--targets", r.GetValue(targets)!, BlockBench.Known),
                mib,
                BenchArguments.Count("--reps", runs, 100),
                OutDirectory(r.GetValue(output)),
                Path.GetFullPath(r.GetValue(dir)!),
                BenchArguments.Seconds("--timeout", r.GetValue(timeout)),
                BenchArguments.Tag("--tag", r.GetValue(tag))), token));
        });
        return command;
    }

    private static Option<string?> Tag() => new("--tag") { Description = "A suffix for the output files' names, DATE-BENCH-TAG.* (e.g. microvm), so runs on one day do not replace each other.", HelpName = "TAG" };

    private static Option<string?> Out() => new("--out") { Description = "Where the results go. [default: bench/results in the Unisharp checkout]", HelpName = "DIR" };

    private static Option<int> Timeout(int seconds) => new("--timeout") { Description = "Time limit of each run, in seconds.", DefaultValueFactory = _ => seconds, HelpName = "SECONDS" };

    private static string OutDirectory(string? value) =>
        Path.GetFullPath(value ?? Path.Combine(UnisharpInstallation.Root, "bench", "results"));
}
