using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.Bench;

/// <summary>
/// <c>unisharp bench net</c>: the seed's network benchmark. Each target runs examples/network (or a peer's sink) in
/// its own namespace at 198.18.0.2; N clients at 198.18.0.1, one virtual link away (the TAP's host side for a stack
/// that brings its own, a veth pair from a peer namespace for the kernel's), each send the same number of zero bytes;
/// the aggregate MB/s is the total over the time from the first connect to the last close.
/// </summary>
internal static partial class NetBench
{
    public const string ServerAddress = "198.18.0.2";
    public const string PeerAddress = "198.18.0.1";
    public const int Prefix = 24;
    public const int Port = 8080;

    /// <summary>The targets <c>--targets</c> may name, in their usual order.</summary>
    public static readonly string[] Known = ["unix-direct", "unix-socket", "lwip", "ack", "qemu", "firecracker"];

    /// <summary>The Linux peer that the ratios are against.</summary>
    public const string Baseline = "unix-socket";

    /// <summary>The physical limit that our stack is also reported as a fraction of.</summary>
    public const string Limit = "ack";

    /// <summary>Our stack on the same TAP as <see cref="Limit"/>.</summary>
    private const string Ours = "unix-direct";

    /// <summary><c>--mode</c>: the clients send and the server receives (the default), or the server sends.</summary>
    public const string Receive = "receive";

    public const string Send = "send";

    /// <summary>UDP echo: examples/echo sends back each datagram of the clients (<see cref="UdpEchoClients"/>); the rate is datagrams/s.</summary>
    public const string UdpEcho = "udp-echo";

    public static readonly string[] Modes = [Receive, Send, UdpEcho];

    /// <param name="sendBytes">In <see cref="Send"/> mode, what the server sends on each connection; 0 when it receives.</param>
    /// <param name="mode">Which app the unix targets run: examples/network (receive, send) or examples/echo (UDP echo).</param>
    public static INetBenchTarget Create(string name, long sendBytes = 0, string mode = Receive) => name switch
    {
        "unix-direct" or "unix-socket" => new UnixNetTarget(direct: name == "unix-direct", mode == UdpEcho ? "echo" : "network", sendBytes),
        "lwip" => new LwipNetTarget(),
        "ack" => new AckNetTarget(),
        "qemu" or "firecracker" => new MicroVmNetTarget(name),
        _ => throw new CliException($"unknown bench net target '{name}'", CliException.Usage),
    };

    public static async Task<int> RunAsync(NetBenchOptions options, CancellationToken cancellationToken)
    {
        BenchHost.RequireRoot("bench net");
        HostPackages.Requirement[] tools = options.Client == NetClients.Nc
            ? [HostPackages.Command("ip", "iproute2"), HostPackages.Command("dd", "coreutils"), HostPackages.Command("nc", "netcat-openbsd")]
            : [HostPackages.Command("ip", "iproute2")];
        await HostPackages.EnsureAsync(tools, Progress.Info, cancellationToken).ConfigureAwait(false);
        var when = DateTime.UtcNow;
        string loadBefore = BenchHost.LoadAverage();
        var rows = new List<NetBenchRow>();
        var skipped = new List<string>();
        try
        {
            var ready = new List<INetBenchTarget>();
            foreach (string name in options.Targets)
            {
                bool sends = options.Mode == Send;
                var target = Create(name, sends ? options.BytesPerClient : 0, options.Mode);
                string? reason = options.Mode != Receive && target is not UnixNetTarget
                    ? $"--mode {options.Mode} runs only our apps (unix-direct, unix-socket)"
                    : await target.PrepareAsync(cancellationToken).ConfigureAwait(false);
                if (reason is not null)
                {
                    Progress.Info($"bench net: {name}: skipped: {reason}");
                    skipped.Add($"{name}: {reason}");
                    rows.AddRange(options.Clients.Select(c => new NetBenchRow(name, target.Stack, c, 0, options.BytesPerClient, 0, 0, double.NaN, -1, "skipped: " + reason)));
                    continue;
                }
                ready.Add(target);
            }
            // The receivers that run as host processes are up together and take turns run by run, so a change in the
            // shared machine's load falls on all of them alike; a microVM (an emulator that may spin) runs alone.
            var phases = new List<List<INetBenchTarget>> { ready.Where(t => t is not MicroVmNetTarget).ToList() };
            phases.AddRange(ready.Where(t => t is MicroVmNetTarget).Select(t => new List<INetBenchTarget> { t }));
            foreach (var phase in phases.Where(p => p.Count > 0))
            {
                rows.AddRange(await RunPhaseAsync(phase, options, cancellationToken).ConfigureAwait(false));
            }
        }
        finally
        {
            BenchNamespaces.DeleteAll();
        }
        rows = rows.OrderBy(r => Array.IndexOf(options.Targets, r.Target)).ToList();

        var (csv, png, markdown) = BenchHost.OutputPaths(options.OutDirectory, "net", options.Tag, when);
        await File.WriteAllTextAsync(csv, Csv(rows, options.Mode == UdpEcho), cancellationToken).ConfigureAwait(false);
        var series = rows.Where(r => !double.IsNaN(r.Mbps)).GroupBy(r => r.Target)
            .Select(g => new BenchPlot.Series(g.Key + (g.Any(r => r.Stack.Contains(BenchHost.TcgMarker, StringComparison.Ordinal)) ? " (TCG)" : ""),
                options.Clients.Select(c => (double)c).ToArray(),
                options.Clients.Select(c => BenchHost.Median(g.Where(r => r.Clients == c).Select(r => r.Mbps))).ToArray()))
            .ToList();
        string title = options.Mode switch
        {
            Send => $"TCP send (the server sends), {Size(options.BytesPerClient)} per client",
            UdpEcho => $"UDP echo, {options.BytesPerClient / UdpEchoClients.DatagramBytes} datagrams of {UdpEchoClients.DatagramBytes} B per client",
            _ => $"TCP receive, {Size(options.BytesPerClient)} per client",
        };
        BenchPlot.Save(png, $"{title} ({when:yyyy-MM-dd})", "clients", options.Mode == UdpEcho ? "datagrams/s echoed (aggregate)" : "MB/s (aggregate)", logX: false, series);
        await File.WriteAllTextAsync(markdown, Summary(rows, options, when, loadBefore, BenchHost.LoadAverage(), skipped, Path.GetFileName(png)), cancellationToken).ConfigureAwait(false);
        Console.WriteLine(csv);
        Console.WriteLine(png);
        Console.WriteLine(markdown);
        return rows.Any(r => r.Status != "ok" && !r.Status.StartsWith("skipped", StringComparison.Ordinal)) ? CliException.Failure : 0;
    }

    /// <summary>A receiver that is up: its sink listening, where its clients run, and what it is (with TCG when emulated).</summary>
    private sealed record LiveTarget(INetBenchTarget Target, ServerProcess Server, string ClientNs, string Stack);

    /// <summary>Starts each target of <paramref name="phase"/>, then measures them in turns: for each client count and run, each target once.</summary>
    private static async Task<List<NetBenchRow>> RunPhaseAsync(List<INetBenchTarget> phase, NetBenchOptions options, CancellationToken cancellationToken)
    {
        var rows = new List<NetBenchRow>();
        var live = new List<LiveTarget>();
        var namespaces = new List<string>();
        try
        {
            foreach (var target in phase)
            {
                var (started, error) = await StartAsync(target, options, namespaces, cancellationToken).ConfigureAwait(false);
                if (started is null)
                {
                    rows.AddRange(Failed(target, options, error!));
                    continue;
                }
                live.Add(started);
            }

            var endpoint = new IPEndPoint(IPAddress.Parse(ServerAddress), Port);
            var ended = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (int clients in options.Clients)
            {
                for (int rep = 0; rep < options.Reps; rep++)
                {
                    foreach (var (target, server, clientNs, stack) in live)
                    {
                        if (ended.TryGetValue(target.Name, out string? why))
                        {
                            if (rep == 0)
                            {
                                rows.Add(new NetBenchRow(target.Name, stack, clients, 0, options.BytesPerClient, 0, 0, double.NaN, -1, why));
                            }
                            continue;
                        }
                        string run = options.Reps > 1 ? $" (run {rep + 1} of {options.Reps})" : "";
                        Progress.Info($"bench net: {target.Name}: {clients} client(s) x {Size(options.BytesPerClient)}{run} ...");
                        var (outcome, serverBytes, status) = await MeasureAsync(server, clientNs, endpoint, clients, options.BytesPerClient, options, cancellationToken).ConfigureAwait(false);
                        double seconds = outcome.Wall.TotalSeconds;
                        // TCP: MB/s; UDP echo: datagrams echoed per second.
                        double mbps = status == "ok" && seconds > 0 ? outcome.Bytes / seconds / (options.Mode == UdpEcho ? 1 : 1e6) : double.NaN;
                        rows.Add(new NetBenchRow(target.Name, stack, clients, rep, options.BytesPerClient, outcome.Bytes, seconds, mbps, serverBytes, status));
                        Progress.Info(status == "ok"
                            ? options.Mode == UdpEcho
                                ? $"bench net: {target.Name}: {clients} client(s){run}: {mbps:0} datagrams/s ({outcome.Bytes} echoed in {seconds:0.00} s, none lost)"
                                : $"bench net: {target.Name}: {clients} client(s){run}: {mbps:0.0} MB/s ({Size(outcome.Bytes)} in {seconds:0.00} s; the sink counted every byte)"
                            : $"bench net: {target.Name}: {clients} client(s){run}: {status}");
                        if (server.HasExited)
                        {
                            ended[target.Name] = $"error: the sink exited: {server.Tail(3).ReplaceLineEndings(" | ")}";
                            Progress.Info($"bench net: {target.Name}: {ended[target.Name]}");
                        }
                    }
                }
            }
            return rows;
        }
        finally
        {
            foreach (var target in live)
            {
                target.Server.Dispose();
            }
            foreach (string ns in namespaces)
            {
                BenchNamespaces.Delete(ns);
            }
        }
    }

    /// <summary>
    /// Makes the target's namespaces (added to <paramref name="namespaces"/>), starts its sink, waits until it listens,
    /// puts the clients one virtual link away, and gives it the untimed warm-up connection; null and why when it did not start.
    /// </summary>
    private static async Task<(LiveTarget? Live, string? Error)> StartAsync(INetBenchTarget target, NetBenchOptions options, List<string> namespaces, CancellationToken cancellationToken)
    {
        string serverNs = await BenchNamespaces.CreateAsync("s", cancellationToken).ConfigureAwait(false);
        namespaces.Add(serverNs);
        string clientNs = serverNs;
        const string tap = "ustap0";
        if (!target.UsesTap)
        {
            // The kernel's stack: the clients in a namespace of their own, across a veth pair.
            clientNs = await BenchNamespaces.CreateAsync("p", cancellationToken).ConfigureAwait(false);
            namespaces.Add(clientNs);
            await BenchNamespaces.LinkVethAsync(clientNs, $"{PeerAddress}/{Prefix}", serverNs, $"{ServerAddress}/{Prefix}", cancellationToken).ConfigureAwait(false);
        }

        var server = ServerProcess.Start(serverNs, target.Command(tap, serverNs, $"{ServerAddress}/{Prefix}", Port));
        Progress.Info($"bench net: {target.Name}: starting ({target.Stack})");
        if (!await server.WaitForAsync(0, lines => lines.Any(l => l.Contains(options.Mode == UdpEcho ? "echoing UDP on" : "sink listening", StringComparison.Ordinal)), target.StartTimeout, cancellationToken).ConfigureAwait(false))
        {
            string why = server.HasExited ? "exited before listening" : $"not listening after {target.StartTimeout.TotalSeconds:0} s";
            string tail = server.Tail(4).ReplaceLineEndings(" | ");
            server.Dispose();
            return (null, $"error: {why}: {tail}");
        }
        string stack = target.Stack + (server.LinesSince(0).Any(l => l.Contains(BenchHost.TcgMarker, StringComparison.Ordinal)) ? " under TCG (emulated CPU)" : "");
        try
        {
            if (target.UsesTap)
            {
                // A stack of its own: the clients on the TAP's host side, one virtual link away, as the kernel's
                // clients are one veth away (no bridge: it would add a hop that the kernel's path does not have).
                await BenchNamespaces.Ip(cancellationToken, "-n", serverNs, "addr", "add", $"{PeerAddress}/{Prefix}", "dev", tap).ConfigureAwait(false);
                await BenchNamespaces.Ip(cancellationToken, "-n", serverNs, "link", "set", tap, "up").ConfigureAwait(false);
            }
            if (options.WarmupBytes > 0)
            {
                // The first connection after a start took 2 to 17 times as long as the next ones (a cold start: fresh
                // buffers, ARP, the heap): one untimed connection first, so the first measured run is like the others.
                // A server that sends sends its --send bytes on every connection, the warm-up's too.
                long warmBytes = options.Mode == Send ? options.BytesPerClient : options.WarmupBytes;
                Progress.Info($"bench net: {target.Name}: warm-up, 1 client x {Size(warmBytes)} (not counted) ...");
                var warm = await MeasureAsync(server, clientNs, new IPEndPoint(IPAddress.Parse(ServerAddress), Port), 1, warmBytes, options, cancellationToken).ConfigureAwait(false);
                if (warm.Status != "ok")
                {
                    Progress.Info($"bench net: {target.Name}: warm-up: {warm.Status}");
                }
            }
        }
        catch
        {
            server.Dispose();
            throw;
        }
        return (new LiveTarget(target, server, clientNs, stack), null);
    }

    /// <summary>One run: the clients send, then the sink's own count of each connection is checked against what was sent.</summary>
    private static async Task<(NetClients.Outcome Outcome, long ServerBytes, string Status)> MeasureAsync(ServerProcess server, string clientNs, IPEndPoint endpoint,
        int clients, long bytesPerClient, NetBenchOptions options, CancellationToken cancellationToken)
    {
        if (options.Mode == UdpEcho)
        {
            long datagrams = bytesPerClient / UdpEchoClients.DatagramBytes;
            var udp = await UdpEchoClients.RunAsync(clientNs, endpoint, clients, datagrams, options.Timeout, cancellationToken).ConfigureAwait(false);
            string udpStatus = udp.Error is not null ? $"error: {udp.Error}"
                : udp.Lost > 0 ? $"error: {udp.Lost} of {clients * datagrams} datagrams not echoed within {UdpEchoClients.LossTimeout.TotalMilliseconds:0} ms"
                : "ok";
            return (new NetClients.Outcome(udp.Echoed, udp.Wall, udp.Error), -1, udpStatus);
        }
        int mark = server.LineCount;
        var outcome = options.Client == NetClients.Nc
            ? await NetClients.RunNcAsync(clientNs, endpoint, clients, bytesPerClient, options.Timeout, cancellationToken).ConfigureAwait(false)
            : await NetClients.RunAsync(clientNs, endpoint, clients, bytesPerClient, options.Timeout, receive: options.Mode == Send, cancellationToken).ConfigureAwait(false);
        // Cross-check: the sink logs each connection's total when it ends.
        await server.WaitForAsync(mark, lines => Finals(lines).Count >= clients, TimeSpan.FromSeconds(outcome.Error is null ? 10 : 1), cancellationToken).ConfigureAwait(false);
        var finals = Finals(server.LinesSince(mark));
        long serverBytes = finals.Count > 0 ? finals.Sum() : -1;
        long expected = clients * bytesPerClient;
        string status = outcome.Error is not null ? $"error: {outcome.Error}"
            : outcome.Bytes != expected ? $"error: sent {outcome.Bytes} of {expected} bytes"
            : serverBytes != expected ? $"error: the sink counted {serverBytes} of {expected} bytes"
            : "ok";
        return (outcome, serverBytes, status);
    }

    private static List<NetBenchRow> Failed(INetBenchTarget target, NetBenchOptions options, string status)
    {
        Progress.Info($"bench net: {target.Name}: {status}");
        return options.Clients.Select(c => new NetBenchRow(target.Name, target.Stack, c, 0, options.BytesPerClient, 0, 0, double.NaN, -1, status)).ToList();
    }

    /// <summary>The byte counts of the server's end-of-connection lines: "read N bytes in M ms (R MB/s)", or "sent ..." when it sends.</summary>
    private static List<long> Finals(List<string> lines)
    {
        var totals = new List<long>();
        foreach (string line in lines)
        {
            var match = FinalLine().Match(line);
            if (match.Success)
            {
                totals.Add(long.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture));
            }
        }
        return totals;
    }

    [GeneratedRegex(@"(?:read|sent) (\d+) bytes in [0-9.]+ ms \(")]
    private static partial Regex FinalLine();

    public static string Size(long bytes) =>
        bytes % (1L << 30) == 0 ? $"{bytes >> 30} GiB" : bytes % (1L << 20) == 0 ? $"{bytes >> 20} MiB" : $"{bytes} B";

    private static string Csv(List<NetBenchRow> rows, bool udp)
    {
        // UDP echo: total_bytes holds the datagrams echoed and mbps the datagrams per second.
        var text = new StringBuilder(udp ? "target,stack,clients,rep,bytes_per_client,datagrams_echoed,seconds,datagrams_per_s,server_bytes,status\n"
            : "target,stack,clients,rep,bytes_per_client,total_bytes,seconds,mbps,server_bytes,status\n");
        foreach (var r in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"{r.Target},{r.Stack.Replace(',', ';')},{r.Clients},{r.Rep},{r.BytesPerClient},{r.TotalBytes},{BenchHost.Number(r.Seconds, "0.000")},{BenchHost.Number(r.Mbps, "0.00")},{r.ServerBytes},{r.Status.Replace(',', ';')}\n");
        }
        return text.ToString();
    }

    private static string Summary(List<NetBenchRow> rows, NetBenchOptions options, DateTime when, string loadBefore, string loadAfter, List<string> skipped, string png)
    {
        var targets = rows.Where(r => !r.Status.StartsWith("skipped", StringComparison.Ordinal)).Select(r => r.Target).Distinct().ToList();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# bench net, {when:yyyy-MM-dd HH:mm} UTC\n\n");
        string client = options.Client == NetClients.Nc
            ? "`dd if=/dev/zero | nc -N` (a process pair per client, as bench/net/run.py)"
            : "a thread of the bench (1 MiB socket sends from memory)";
        if (options.Mode == UdpEcho)
        {
            text.Append(CultureInfo.InvariantCulture, $"UDP echo: examples/echo on port {Port} at {ServerAddress} sends back each datagram; each client is a thread of the bench with a connected UDP socket that keeps {UdpEchoClients.Window} datagrams of {UdpEchoClients.DatagramBytes} bytes in flight ");
            text.Append(CultureInfo.InvariantCulture, $"until {options.BytesPerClient / UdpEchoClients.DatagramBytes} have come back. The numbers are datagrams echoed per second (all clients), the median of {options.Reps} run(s), over the time from the first send to the last echo; a run with any datagram not back within {UdpEchoClients.LossTimeout.TotalMilliseconds:0} ms counts as failed. ");
        }
        else if (options.Mode == Send)
        {
            text.Append(CultureInfo.InvariantCulture, $"The sender direction: each client connects to examples/network --send on port {Port} at {ServerAddress}, which sends it {Size(options.BytesPerClient)} of zeros from one buffer and closes; ");
            text.Append("a client is a thread of the bench that reads everything into a 1 MiB buffer until the close, then closes. ");
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"Each client sends {Size(options.BytesPerClient)} of zeros over TCP to the sink on port {Port} at {ServerAddress}; a client is {client}. ");
        }
        text.Append("The clients are one virtual link away from the receiver: on the TAP's host side in the receiver's namespace for the stacks that bring their own ");
        text.Append("(with checksum and segmentation offload on the TAP for unix-direct), across a veth pair from a peer namespace for the Linux kernel. ");
        text.Append(options.WarmupBytes > 0 ? "Each receiver first takes one untimed connection of " + Size(options.WarmupBytes) + " (warm-up). " : "No warm-up connection. ");
        text.Append("The receivers that run as host processes are up together and take turns, run by run, so a change in the machine's load falls on all of them alike; a microVM runs alone. ");
        if (options.Mode != UdpEcho)
        {
            text.Append(CultureInfo.InvariantCulture, $"MB/s is 10^6 bytes per second, the median of {options.Reps} run(s): all clients' bytes over the time from the first connect to the last close ");
            text.Append("(the receiver closes once it has read everything; the server's own byte count is checked against the clients').");
        }
        text.Append("\n\n");
        text.Append(CultureInfo.InvariantCulture, $"Machine: {BenchHost.Describe()}; load average {loadBefore} at the start, {loadAfter} at the end. ");
        text.Append("The machine is shared with other agents building code while this ran, so single runs vary.");
        if (rows.Any(r => r.Stack.Contains(BenchHost.TcgMarker, StringComparison.Ordinal)))
        {
            text.Append(" microVM numbers under TCG (QEMU emulating the CPU, no usable KVM here): they measure the emulation far more than the stack.");
        }
        text.Append("\n\n");
        text.Append("| clients |");
        foreach (string t in targets)
        {
            text.Append(CultureInfo.InvariantCulture, $" {t} |");
        }
        var ratios = (targets.Contains(Baseline) ? targets.Where(t => t != Baseline).Select(t => (t, Baseline)) : [])
            .Concat(targets.Contains(Limit) && targets.Contains(Ours) ? [(Ours, Limit)] : []).ToList();
        foreach (var (t, against) in ratios)
        {
            text.Append(CultureInfo.InvariantCulture, $" {t} / {against} |");
        }
        text.Append("\n|---:|").Append(string.Concat(Enumerable.Repeat("---:|", targets.Count + ratios.Count))).Append('\n');
        foreach (int clients in options.Clients)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {clients} |");
            double Rate(string t) => BenchHost.Median(rows.Where(r => r.Target == t && r.Clients == clients).Select(r => r.Mbps));
            foreach (string t in targets)
            {
                double rate = Rate(t);
                text.Append(CultureInfo.InvariantCulture, $" {(double.IsNaN(rate) ? "failed" : BenchHost.Number(rate))} |");
            }
            foreach (var (t, against) in ratios)
            {
                double ratio = Rate(t) / Rate(against);
                text.Append(CultureInfo.InvariantCulture, $" {(double.IsNaN(ratio) ? "" : BenchHost.Number(ratio, "0.00") + "x")} |");
            }
            text.Append('\n');
        }
        text.Append('\n');
        foreach (string t in targets)
        {
            text.Append(CultureInfo.InvariantCulture, $"- {t}: {rows.First(r => r.Target == t).Stack}\n");
        }
        foreach (var failure in rows.Where(r => r.Status.StartsWith("error", StringComparison.Ordinal)))
        {
            text.Append(CultureInfo.InvariantCulture, $"- {failure.Target}, {failure.Clients} client(s), run {failure.Rep + 1}: {failure.Status}\n");
        }
        foreach (string s in skipped)
        {
            text.Append(CultureInfo.InvariantCulture, $"- skipped {s}\n");
        }
        text.Append(CultureInfo.InvariantCulture, $"\n![bench net]({png})\n");
        return text.ToString();
    }
}
