using System.Globalization;
using System.Text;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.Bench;

/// <summary>
/// <c>unisharp bench http</c>: wrk and ab against examples/http on our stack (TAP) and on the Linux kernel's
/// (<c>--net socket</c>, veth), side by side in one run. Each server runs in a namespace of its own at 198.18.0.2;
/// the tools run in a client namespace of its own at 198.18.0.1 for both, holding the link's other end (the TAP,
/// moved there once the app has opened it, or the veth's peer), so both clients see the same kind of namespace.
/// </summary>
internal static class HttpBench
{
    public const int Port = 80;

    /// <summary>examples/aspnet's HTTPS port, for wrk-tls.</summary>
    public const int TlsPort = 443;

    public static readonly string[] Known = ["unix-direct", "unix-socket"];

    /// <summary>The Linux peer that the ratios are against.</summary>
    public const string Baseline = "unix-socket";

    /// <summary>The examples this bench can serve: the hand-written responder, and ASP.NET Core (Kestrel through Unisharp.AspNetCore).</summary>
    public static readonly string[] Apps = ["http", "aspnet"];

    private const string Tap = "ustap0";

    /// <summary>A server that is up: its process and the namespace its clients run in.</summary>
    private sealed record LiveServer(INetBenchTarget Target, ServerProcess Server, string ClientNs);

    public static async Task<int> RunAsync(HttpBenchOptions options, CancellationToken cancellationToken)
    {
        BenchHost.RequireRoot("bench http");
        await HostPackages.EnsureAsync([HostPackages.Command("ip", "iproute2"), HostPackages.Command("wrk", "wrk"), HostPackages.Command("ab", "apache2-utils")],
            Progress.Info, cancellationToken).ConfigureAwait(false);
        var when = DateTime.UtcNow;
        string loadBefore = BenchHost.LoadAverage();
        var rows = new List<HttpBenchRow>();
        var live = new List<LiveServer>();
        string? certificates = null;
        try
        {
            string[] tls = [];
            if (options.Tools.Contains(HttpClients.WrkTls))
            {
                // wrk checks no certificate: a self-signed one for the server's address serves both stacks.
                certificates = await MakeCertificateAsync(cancellationToken).ConfigureAwait(false);
                tls = [$"--cert={certificates}/server.pem", $"--key={certificates}/server.key", $"--https-port={TlsPort}"];
            }
            foreach (string name in options.Targets)
            {
                var target = new UnixNetTarget(direct: name == "unix-direct", options.App, bootArguments: tls);
                await target.PrepareAsync(cancellationToken).ConfigureAwait(false);
                var (server, error) = await StartAsync(target, options, cancellationToken).ConfigureAwait(false);
                if (server is null)
                {
                    Progress.Info($"bench http: {name}: {error}");
                    rows.AddRange(options.Tools.Select(t => new HttpBenchRow(t, name, target.Stack, 0, 0, 0, 0, double.NaN, double.NaN, double.NaN, double.NaN, error!)));
                    continue;
                }
                live.Add(server);
            }
            // Rounds alternate the order of the servers, so neither always runs right after the other's load.
            for (int rep = 0; rep < options.Reps; rep++)
            {
                var order = rep % 2 == 0 ? live : Enumerable.Reverse(live).ToList();
                foreach (string tool in options.Tools)
                {
                    foreach (var server in order)
                    {
                        rows.Add(await MeasureAsync(server, tool, rep, options, cancellationToken).ConfigureAwait(false));
                    }
                }
            }
        }
        finally
        {
            foreach (var server in live)
            {
                server.Server.Dispose();
            }
            BenchNamespaces.DeleteAll();
            if (certificates is not null)
            {
                Directory.Delete(certificates, recursive: true);
            }
        }
        rows = rows.OrderBy(r => Array.IndexOf(options.Tools, r.Tool)).ThenBy(r => Array.IndexOf(options.Targets, r.Target)).ThenBy(r => r.Rep).ToList();

        var (csv, png, markdown) = BenchHost.OutputPaths(options.OutDirectory, options.App == "http" ? "http" : $"http-{options.App}", options.Tag, when);
        await File.WriteAllTextAsync(csv, Csv(rows), cancellationToken).ConfigureAwait(false);
        double[] xs = Enumerable.Range(1, options.Tools.Length).Select(i => (double)i).ToArray();
        var series = options.Targets.Select(t => new BenchPlot.Series(t,
            xs, options.Tools.Select(tool => Median(rows, tool, t, r => r.RequestsPerSecond)).ToArray())).ToList();
        BenchPlot.Save(png, $"examples/{options.App}, requests/s ({when:yyyy-MM-dd})", "tool", "requests/s (median)", logX: false, series, options.Tools);
        await File.WriteAllTextAsync(markdown, Summary(rows, options, when, loadBefore, BenchHost.LoadAverage(), Path.GetFileName(png)), cancellationToken).ConfigureAwait(false);
        Console.WriteLine(csv);
        Console.WriteLine(png);
        Console.WriteLine(markdown);
        return rows.Any(r => r.Status != "ok") ? CliException.Failure : 0;
    }

    /// <summary>Makes the server's and the clients' namespaces, starts the app, joins the two by the TAP or a veth pair, and warms it up.</summary>
    private static async Task<(LiveServer? Server, string? Error)> StartAsync(INetBenchTarget target, HttpBenchOptions options, CancellationToken cancellationToken)
    {
        string serverNs = await BenchNamespaces.CreateAsync("s", cancellationToken).ConfigureAwait(false);
        string clientNs = await BenchNamespaces.CreateAsync("c", cancellationToken).ConfigureAwait(false);
        string peer = $"{NetBench.PeerAddress}/{NetBench.Prefix}";
        if (!target.UsesTap)
        {
            await BenchNamespaces.LinkVethAsync(clientNs, peer, serverNs, $"{NetBench.ServerAddress}/{NetBench.Prefix}", cancellationToken).ConfigureAwait(false);
        }
        Progress.Info($"bench http: {target.Name}: starting examples/{options.App} ({target.Stack})");
        var server = ServerProcess.Start(serverNs, target.Command(Tap, serverNs, $"{NetBench.ServerAddress}/{NetBench.Prefix}", Port));
        if (!await server.WaitForAsync(0, lines => lines.Any(l => l.Contains("serving HTTP", StringComparison.Ordinal)), target.StartTimeout, cancellationToken).ConfigureAwait(false))
        {
            string why = server.HasExited ? "exited before serving" : $"not serving after {target.StartTimeout.TotalSeconds:0} s";
            string tail = server.Tail(4).ReplaceLineEndings(" | ");
            server.Dispose();
            return (null, $"error: {why}: {tail}");
        }
        try
        {
            if (target.UsesTap)
            {
                // The app holds the TAP open; its host side moves to the clients' namespace (the file descriptor stays attached).
                await BenchNamespaces.Ip(cancellationToken, "-n", serverNs, "link", "set", Tap, "netns", clientNs).ConfigureAwait(false);
                await BenchNamespaces.Ip(cancellationToken, "-n", clientNs, "addr", "add", peer, "dev", Tap).ConfigureAwait(false);
                await BenchNamespaces.Ip(cancellationToken, "-n", clientNs, "link", "set", Tap, "up").ConfigureAwait(false);
            }
            // Untimed: the first connections after a start meet cold buffers, ARP and the heap.
            var warm = await HttpClients.RunAsync(clientNs, HttpClients.AbKeepAlive, options with { Requests = 500, Concurrency = 4 }, Url, cancellationToken).ConfigureAwait(false);
            Progress.Info($"bench http: {target.Name}: warm-up (ab -k, 500 requests, not counted): {warm.Error ?? "ok"}");
        }
        catch
        {
            server.Dispose();
            throw;
        }
        return (new LiveServer(target, server, clientNs), null);
    }

    private static string Url => $"http://{NetBench.ServerAddress}:{Port}/";

    /// <summary>The URL a tool asks: HTTPS on <see cref="TlsPort"/> for wrk-tls.</summary>
    private static string UrlFor(string tool) => tool == HttpClients.WrkTls ? $"https://{NetBench.ServerAddress}:{TlsPort}/" : Url;

    /// <summary>A self-signed P-256 certificate and key for the server's address, in a new temporary folder (deleted by the caller).</summary>
    private static async Task<string> MakeCertificateAsync(CancellationToken cancellationToken)
    {
        await HostPackages.EnsureAsync([HostPackages.Command("openssl", "openssl")], Progress.Info, cancellationToken).ConfigureAwait(false);
        string directory = Directory.CreateTempSubdirectory("unisharp-bench-tls-").FullName;
        var made = await ProcessRunner.RunAsync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", Path.Combine(directory, "server.key"), "-out", Path.Combine(directory, "server.pem"), "-days", "2",
            "-subj", $"/CN={NetBench.ServerAddress}", "-addext", $"subjectAltName=IP:{NetBench.ServerAddress}"], cancellationToken: cancellationToken).ConfigureAwait(false);
        if (made.ExitCode != 0)
        {
            Directory.Delete(directory, recursive: true);
            throw new BenchRunException($"openssl could not make the test certificate: {made.Output.Trim()}");
        }
        return directory;
    }

    private static async Task<HttpBenchRow> MeasureAsync(LiveServer live, string tool, int rep, HttpBenchOptions options, CancellationToken cancellationToken)
    {
        string name = live.Target.Name;
        if (live.Server.HasExited)
        {
            return new HttpBenchRow(tool, name, live.Target.Stack, rep, 0, 0, 0, double.NaN, double.NaN, double.NaN, double.NaN,
                $"error: the server exited: {live.Server.Tail(3).ReplaceLineEndings(" | ")}");
        }
        Progress.Info($"bench http: {name}: {string.Join(' ', HttpClients.Command(tool, options, UrlFor(tool)))} (round {rep + 1} of {options.Reps}) ...");
        double serverBefore = live.Server.CpuSeconds;
        var (report, error, seconds, clientCpu) = await HttpClients.RunAsync(live.ClientNs, tool, options, UrlFor(tool), cancellationToken).ConfigureAwait(false);
        double serverCpu = live.Server.CpuSeconds - serverBefore;
        string status = error is not null ? $"error: {error}"
            : report!.Value.Errors > 0 ? $"error: {report.Value.Errors} failed requests"
            : "ok";
        var r = report ?? new HttpClients.Report(double.NaN, double.NaN, 0, 0);
        Progress.Info($"bench http: {name}: {tool}: {BenchHost.Number(r.RequestsPerSecond)} requests/s, p99 {BenchHost.Number(r.P99Ms, "0.00")} ms, " +
            $"client CPU {BenchHost.Number(clientCpu / seconds, "0.00")} cores, server CPU {BenchHost.Number(serverCpu / seconds, "0.00")} cores: {status}");
        return new HttpBenchRow(tool, name, live.Target.Stack, rep, seconds, r.Completed, r.Errors, r.RequestsPerSecond, r.P99Ms, clientCpu, serverCpu, status);
    }

    /// <summary>The median of <paramref name="value"/> over the successful runs of a tool against a target.</summary>
    private static double Median(List<HttpBenchRow> rows, string tool, string target, Func<HttpBenchRow, double> value) =>
        BenchHost.Median(rows.Where(r => r.Tool == tool && r.Target == target && r.Status == "ok").Select(value));

    private static string Csv(List<HttpBenchRow> rows)
    {
        var text = new StringBuilder("tool,target,stack,rep,seconds,completed,errors,requests_per_s,p99_ms,client_cpu_s,server_cpu_s,status\n");
        foreach (var r in rows)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{r.Tool},{r.Target},{r.Stack.Replace(',', ';')},{r.Rep},{BenchHost.Number(r.Seconds, "0.000")},{r.Completed},{r.Errors},{BenchHost.Number(r.RequestsPerSecond, "0.0")},{BenchHost.Number(r.P99Ms, "0.000")},{BenchHost.Number(r.ClientCpuSeconds, "0.00")},{BenchHost.Number(r.ServerCpuSeconds, "0.00")},{r.Status.Replace(',', ';')}\n");
        }
        return text.ToString();
    }

    private static string Summary(List<HttpBenchRow> rows, HttpBenchOptions options, DateTime when, string loadBefore, string loadAfter, string png)
    {
        var targets = options.Targets;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# bench http, {when:yyyy-MM-dd HH:mm} UTC\n\n");
        text.Append(CultureInfo.InvariantCulture, $"examples/{options.App} serves `GET /` ({(options.App == "http" ? "a 214-byte page" : "a page from Kestrel through Unisharp.AspNetCore")}) at {NetBench.ServerAddress}:{Port}: on our stack over a TAP device (unix-direct, offload on) ");
        text.Append("and as the same binary with `--net socket` on the Linux kernel's stack over a veth pair (unix-socket). Each server has a namespace of its own; ");
        text.Append(CultureInfo.InvariantCulture, $"the tools run in a client namespace of their own at {NetBench.PeerAddress}, one virtual link away, for both. ");
        text.Append(CultureInfo.InvariantCulture, $"wrk: `{string.Join(' ', HttpClients.Command(HttpClients.Wrk, options, "URL"))}` (HTTP/1.1 keep-alive); ");
        text.Append(CultureInfo.InvariantCulture, $"ab: `{string.Join(' ', HttpClients.Command(HttpClients.Ab, options, "URL"))}` (HTTP/1.0, a new connection per request); ");
        text.Append("ab-k: the same with `-k` (HTTP/1.0 keep-alive). ");
        if (options.Tools.Contains(HttpClients.WrkTls))
        {
            text.Append(CultureInfo.InvariantCulture, $"wrk-tls: wrk as above against `https://{NetBench.ServerAddress}:{TlsPort}/` (Kestrel's UseHttps with a self-signed P-256 certificate; ");
            text.Append("OpenSSL's TLS 1.3 on both ends, HTTP/1.1 since wrk offers no ALPN; the handshakes are wrk's connections, once each). ");
        }
        text.Append(CultureInfo.InvariantCulture, $"{options.Reps} round(s), each tool against each server in turn, the servers' order alternating from round to round; each server first gets 500 untimed requests. ");
        text.Append("Requests/s and p99 (ms) are what the tools report, medians over the rounds without failed requests. ");
        text.Append("Client and server CPU are the tool's and the server's user+system time over the run's wall time, in cores (the machine has ");
        text.Append(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount}): a client near the machine's cores is itself the bottleneck.\n\n");
        text.Append(CultureInfo.InvariantCulture, $"Machine: {BenchHost.Describe()}; load average {loadBefore} at the start, {loadAfter} at the end. ");
        text.Append("The machine is shared with other agents building code while this ran, so single runs vary.\n\n");

        var ratioTargets = targets.Contains(Baseline) ? targets.Where(t => t != Baseline).ToList() : [];
        text.Append("| tool |");
        foreach (string t in targets)
        {
            text.Append(CultureInfo.InvariantCulture, $" {t} req/s |");
        }
        foreach (string t in ratioTargets)
        {
            text.Append(CultureInfo.InvariantCulture, $" {t} / {Baseline} |");
        }
        foreach (string t in targets)
        {
            text.Append(CultureInfo.InvariantCulture, $" {t} p99 ms |");
        }
        foreach (string t in targets)
        {
            text.Append(CultureInfo.InvariantCulture, $" {t} client / server CPU |");
        }
        text.Append("\n|---|").Append(string.Concat(Enumerable.Repeat("---:|", (targets.Length * 3) + ratioTargets.Count))).Append('\n');
        foreach (string tool in options.Tools)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {tool} |");
            foreach (string t in targets)
            {
                double rate = Median(rows, tool, t, r => r.RequestsPerSecond);
                text.Append(CultureInfo.InvariantCulture, $" {(double.IsNaN(rate) ? "failed" : BenchHost.Number(rate, "0"))} |");
            }
            foreach (string t in ratioTargets)
            {
                double ratio = Median(rows, tool, t, r => r.RequestsPerSecond) / Median(rows, tool, Baseline, r => r.RequestsPerSecond);
                text.Append(CultureInfo.InvariantCulture, $" {(double.IsNaN(ratio) ? "" : BenchHost.Number(ratio, "0.00") + "x")} |");
            }
            foreach (string t in targets)
            {
                text.Append(CultureInfo.InvariantCulture, $" {BenchHost.Number(Median(rows, tool, t, r => r.P99Ms), "0.0")} |");
            }
            foreach (string t in targets)
            {
                double client = Median(rows, tool, t, r => r.ClientCpuSeconds / r.Seconds);
                double server = Median(rows, tool, t, r => r.ServerCpuSeconds / r.Seconds);
                text.Append(CultureInfo.InvariantCulture, $" {BenchHost.Number(client, "0.00")} / {BenchHost.Number(server, "0.00")} |");
            }
            text.Append('\n');
        }
        text.Append('\n');
        foreach (string t in targets)
        {
            text.Append(CultureInfo.InvariantCulture, $"- {t}: {rows.FirstOrDefault(r => r.Target == t)?.Stack}\n");
        }
        foreach (var failure in rows.Where(r => r.Status != "ok"))
        {
            text.Append(CultureInfo.InvariantCulture, $"- {failure.Tool}, {failure.Target}, round {failure.Rep + 1}: {failure.Status}\n");
        }
        text.Append(CultureInfo.InvariantCulture, $"\n![bench http]({png})\n");
        return text.ToString();
    }
}
