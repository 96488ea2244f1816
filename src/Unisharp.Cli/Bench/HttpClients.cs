using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.Bench;

/// <summary>
/// The load generators of <c>bench http</c>: wrk (keep-alive, a fixed time), ab (a new connection per request),
/// ab -k (HTTP/1.0 keep-alive) and wrk-tls (wrk over HTTPS), each run in the clients' namespace under bash, whose <c>times</c> gives the tool's CPU time.
/// </summary>
internal static partial class HttpClients
{
    public const string Wrk = "wrk";
    public const string Ab = "ab";
    public const string AbKeepAlive = "ab-k";

    /// <summary>wrk over HTTPS (TLS 1.3, HTTP/1.1: wrk offers no ALPN), keep-alive; for examples/aspnet, which serves HTTPS.</summary>
    public const string WrkTls = "wrk-tls";

    public static readonly string[] Tools = [Wrk, Ab, AbKeepAlive, WrkTls];

    /// <summary>The tools run when none are named: HTTPS only where the app serves it.</summary>
    public static string[] DefaultTools(string app) => app == "aspnet" ? Tools : [Wrk, Ab, AbKeepAlive];

    /// <summary>What one tool's output said: requests/s, p99 latency (ms), requests completed and failed.</summary>
    public readonly record struct Report(double RequestsPerSecond, double P99Ms, long Completed, long Errors);

    /// <summary>The tool's command line against <paramref name="url"/>.</summary>
    public static string[] Command(string tool, HttpBenchOptions options, string url)
    {
        string seconds = ((int)options.Duration.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        string timeout = ((int)Math.Max(1, options.Timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return tool switch
        {
            Wrk or WrkTls => ["wrk", $"-t{options.Threads}", $"-c{options.Connections}", $"-d{seconds}s", "--latency", "--timeout", "5s", url],
            Ab => ["ab", "-q", "-n", $"{options.Requests}", "-c", $"{options.Concurrency}", "-s", timeout, url],
            AbKeepAlive => ["ab", "-q", "-k", "-n", $"{options.Requests}", "-c", $"{options.Concurrency}", "-s", timeout, url],
            _ => throw new ArgumentException($"unknown tool '{tool}'", nameof(tool)),
        };
    }

    /// <summary>
    /// Runs <paramref name="tool"/> in <paramref name="ns"/>; returns its report (null and why when it failed), its wall time and CPU time.
    /// </summary>
    public static async Task<(Report? Report, string? Error, double Seconds, double CpuSeconds)> RunAsync(string ns, string tool, HttpBenchOptions options, string url,
        CancellationToken cancellationToken)
    {
        string command = string.Join(' ', Command(tool, options, url));
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(options.Timeout + options.Duration);
        var clock = Stopwatch.StartNew();
        ProcessRunner.Result result;
        try
        {
            // times: the shell's own, then its children's user and system time (the tool's).
            result = await ProcessRunner.RunAsync("ip", ["netns", "exec", ns, "bash", "-c", $"{command}; s=$?; echo '--- times'; times; exit $s"],
                cancellationToken: limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"timeout after {(options.Timeout + options.Duration).TotalSeconds:0} s", clock.Elapsed.TotalSeconds, double.NaN);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        double cpu = ChildCpuSeconds(result.Output);
        Report? report = tool is Wrk or WrkTls ? ParseWrk(result.Output) : ParseAb(result.Output);
        if (result.ExitCode != 0 || report is null)
        {
            string last = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .LastOrDefault(l => !l.StartsWith("---", StringComparison.Ordinal) && !TimesLine().IsMatch(l)) ?? "";
            return (report, $"{tool} exited with {result.ExitCode}: {last}", seconds, cpu);
        }
        return (report, null, seconds, cpu);
    }

    /// <summary>wrk's summary with <c>--latency</c>: Requests/sec, the 99% line, requests, socket errors and non-2xx/3xx answers.</summary>
    public static Report? ParseWrk(string output)
    {
        var rate = WrkRate().Match(output);
        var requests = WrkRequests().Match(output);
        var p99 = WrkP99().Match(output);
        if (!rate.Success || !requests.Success)
        {
            return null;
        }
        long errors = 0;
        var socket = WrkSocketErrors().Match(output);
        if (socket.Success)
        {
            for (int g = 1; g <= 4; g++)
            {
                errors += long.Parse(socket.Groups[g].ValueSpan, CultureInfo.InvariantCulture);
            }
        }
        var bad = WrkNon2xx().Match(output);
        if (bad.Success)
        {
            errors += long.Parse(bad.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
        }
        double latency = p99.Success ? Number(p99.Groups[1].Value) * p99.Groups[2].Value switch
        {
            "us" => 0.001,
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            _ => double.NaN,
        } : double.NaN;
        return new Report(Number(rate.Groups[1].Value), latency, long.Parse(requests.Groups[1].ValueSpan, CultureInfo.InvariantCulture), errors);
    }

    /// <summary>ab's summary: Requests per second, Complete and Failed requests, Non-2xx responses and the 99% line (ms).</summary>
    public static Report? ParseAb(string output)
    {
        var rate = AbRate().Match(output);
        var complete = AbComplete().Match(output);
        var failed = AbFailed().Match(output);
        if (!rate.Success || !complete.Success || !failed.Success)
        {
            return null;
        }
        long errors = long.Parse(failed.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
        var bad = AbNon2xx().Match(output);
        if (bad.Success)
        {
            errors += long.Parse(bad.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
        }
        var p99 = AbP99().Match(output);
        return new Report(Number(rate.Groups[1].Value), p99.Success ? Number(p99.Groups[1].Value) : double.NaN,
            long.Parse(complete.Groups[1].ValueSpan, CultureInfo.InvariantCulture), errors);
    }

    /// <summary>The children's user plus system seconds from bash's <c>times</c> (its second line, after our marker); NaN when absent.</summary>
    public static double ChildCpuSeconds(string output)
    {
        int marker = output.LastIndexOf("--- times", StringComparison.Ordinal);
        if (marker < 0)
        {
            return double.NaN;
        }
        var lines = TimesLine().Matches(output[marker..]);
        if (lines.Count < 2)
        {
            return double.NaN;
        }
        var children = lines[1];
        return (60 * Number(children.Groups[1].Value)) + Number(children.Groups[2].Value)
            + (60 * Number(children.Groups[3].Value)) + Number(children.Groups[4].Value);
    }

    private static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^Requests/sec:\s+([0-9.]+)\s*$", RegexOptions.Multiline)]
    private static partial Regex WrkRate();

    [GeneratedRegex(@"^\s*(\d+) requests in ", RegexOptions.Multiline)]
    private static partial Regex WrkRequests();

    [GeneratedRegex(@"^\s*99(?:\.0+)?%\s+([0-9.]+)(us|ms|s|m)\s*$", RegexOptions.Multiline)]
    private static partial Regex WrkP99();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex WrkSocketErrors();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex WrkNon2xx();

    [GeneratedRegex(@"^Requests per second:\s+([0-9.]+) \[#/sec\]", RegexOptions.Multiline)]
    private static partial Regex AbRate();

    [GeneratedRegex(@"^Complete requests:\s+(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex AbComplete();

    [GeneratedRegex(@"^Failed requests:\s+(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex AbFailed();

    [GeneratedRegex(@"^Non-2xx responses:\s+(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex AbNon2xx();

    [GeneratedRegex(@"^\s*99%\s+(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex AbP99();

    [GeneratedRegex(@"^(\d+)m([0-9.]+)s (\d+)m([0-9.]+)s\s*$", RegexOptions.Multiline)]
    private static partial Regex TimesLine();
}
