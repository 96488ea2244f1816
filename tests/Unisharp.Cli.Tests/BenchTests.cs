using System.Globalization;
using Unisharp.Cli.Bench;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// <c>unisharp bench</c> at the smallest sizes, run as a user would: real namespaces, TAP and veth, our stack and
/// the Linux kernel receiving; real dd and fio. The numbers are not judged here (bench/ is for that), only that
/// each run happened, was counted and ended up in the CSV, the plot and the summary.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class BenchTests
{
    private static readonly byte[] s_pngMagic = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [RequiresNamespacesFact]
    public void BenchNet_SocketAndDirect_CsvPlotAndSummary()
    {
        string output = Scratch();
        try
        {
            var result = Unisharp.Run(TimeSpan.FromMinutes(15), "bench", "net", "--clients", "1", "--bytes", "8M",
                "--targets", "unix-socket,unix-direct", "--out", output, "--timeout", "60");
            Assert.True(result.ExitCode == 0, result.Stderr);

            var rows = ReadCsv(Single(output, "-net.csv"));
            Assert.Equal(["unix-socket", "unix-direct"], rows.Select(r => r["target"]));
            foreach (var row in rows)
            {
                Assert.Equal("ok", row["status"]);
                Assert.Equal("1", row["clients"]);
                Assert.Equal("8388608", row["total_bytes"]);
                Assert.Equal("8388608", row["server_bytes"]);
                Assert.True(double.Parse(row["mbps"], CultureInfo.InvariantCulture) > 0);
            }
            AssertPng(Single(output, "-net.png"));
            string summary = File.ReadAllText(Single(output, "-net.md"));
            Assert.Contains("| clients | unix-socket | unix-direct | unix-direct / unix-socket |", summary);
            Assert.Matches(@"\| 1 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+x \|", summary);
            Assert.Contains("bench net: unix-direct: 1 client(s):", result.Stderr);
            AssertNoLeftoverNamespaces();
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [RequiresNamespacesFact]
    public void BenchNet_NcClientsWithWarmup_CheckedAndTagged()
    {
        string output = Scratch();
        try
        {
            var result = Unisharp.Run(TimeSpan.FromMinutes(15), "bench", "net", "--clients", "2", "--bytes", "4M", "--warmup", "1M",
                "--client", "nc", "--targets", "unix-direct,unix-socket", "--tag", "nc", "--out", output, "--timeout", "60");
            Assert.True(result.ExitCode == 0, result.Stderr);

            var rows = ReadCsv(Single(output, "-net-nc.csv"));
            Assert.Equal(["unix-direct", "unix-socket"], rows.Select(r => r["target"]));
            foreach (var row in rows)
            {
                Assert.Equal("ok", row["status"]);
                Assert.Equal("2", row["clients"]);
                Assert.Equal("8388608", row["server_bytes"]);
            }
            AssertPng(Single(output, "-net-nc.png"));
            string summary = File.ReadAllText(Single(output, "-net-nc.md"));
            Assert.Contains("`dd if=/dev/zero | nc -N`", summary);
            Assert.Contains("one untimed connection of 1 MiB (warm-up)", summary);
            Assert.Contains("bench net: unix-direct: warm-up, 1 client x 1 MiB (not counted)", result.Stderr);
            AssertNoLeftoverNamespaces();
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>A microVM's TAP is made in the bench's namespace (--netns), where the clients reach it.</summary>
    [RequiresNamespacesFact]
    public void BenchNet_AckLimitAndSenderDirection_EveryByteCounted()
    {
        string output = Scratch();
        try
        {
            var limit = Unisharp.Run(TimeSpan.FromMinutes(15), "bench", "net", "--clients", "1,2", "--bytes", "8M", "--warmup", "1M",
                "--targets", "unix-direct,ack", "--tag", "ack", "--out", output, "--timeout", "60");
            Assert.True(limit.ExitCode == 0, limit.Stderr);
            var rows = ReadCsv(Single(output, "-net-ack.csv"));
            Assert.Equal(["unix-direct", "unix-direct", "ack", "ack"], rows.Select(r => r["target"]));
            Assert.All(rows, row => Assert.Equal("ok", row["status"]));
            Assert.Equal(["8388608", "16777216", "8388608", "16777216"], rows.Select(r => r["server_bytes"]));
            string summary = File.ReadAllText(Single(output, "-net-ack.md"));
            Assert.Contains("| clients | unix-direct | ack | unix-direct / ack |", summary);
            Assert.Matches(@"\| 2 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+x \|", summary);

            var send = Unisharp.Run(TimeSpan.FromMinutes(15), "bench", "net", "--mode", "send", "--clients", "2", "--bytes", "8M",
                "--targets", "unix-direct,unix-socket,lwip", "--tag", "send", "--out", output, "--timeout", "60");
            Assert.True(send.ExitCode == 0, send.Stderr);
            rows = ReadCsv(Single(output, "-net-send.csv"));
            Assert.Equal(["unix-direct", "unix-socket", "lwip"], rows.Select(r => r["target"]));
            Assert.Equal(["ok", "ok", "skipped: --mode send runs only our apps (unix-direct; unix-socket)"], rows.Select(r => r["status"]));
            Assert.Equal(["16777216", "16777216"], rows.Take(2).Select(r => r["server_bytes"]));
            Assert.Contains("The sender direction", File.ReadAllText(Single(output, "-net-send.md")));
            AssertNoLeftoverNamespaces();
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [RequiresNamespacesFact]
    public void BenchNet_UdpEcho_EveryDatagramBack()
    {
        string output = Scratch();
        try
        {
            var result = Unisharp.Run(TimeSpan.FromMinutes(15), "bench", "net", "--mode", "udp-echo", "--clients", "2", "--bytes", "256K", "--warmup", "64K",
                "--targets", "unix-socket,unix-direct", "--out", output, "--timeout", "60");
            Assert.True(result.ExitCode == 0, result.Stderr);
            var rows = ReadCsv(Single(output, "-net.csv"));
            Assert.Equal(["unix-socket", "unix-direct"], rows.Select(r => r["target"]));
            foreach (var row in rows)
            {
                Assert.Equal("ok", row["status"]);
                Assert.Equal("8192", row["datagrams_echoed"]);
                Assert.True(double.Parse(row["datagrams_per_s"], CultureInfo.InvariantCulture) > 0);
            }
            AssertPng(Single(output, "-net.png"));
            Assert.Contains("UDP echo: examples/echo", File.ReadAllText(Single(output, "-net.md")));
            AssertNoLeftoverNamespaces();
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [MicroVmFact(NeedsNamespaces = true)]
    public void BenchNet_Qemu_CountedOverItsTap()
    {
        string output = Scratch();
        try
        {
            var result = Unisharp.Run(TimeSpan.FromMinutes(25), "bench", "net", "--clients", "1", "--bytes", "2M", "--warmup", "0",
                "--targets", "qemu", "--out", output, "--timeout", "120");
            Assert.True(result.ExitCode == 0, result.Stderr);

            var row = Assert.Single(ReadCsv(Single(output, "-net.csv")));
            Assert.Equal("ok", row["status"]);
            Assert.Equal("2097152", row["server_bytes"]);
            Assert.StartsWith("Unisharp TCP/IP in a qemu microVM", row["stack"], StringComparison.Ordinal);
            AssertNoLeftoverNamespaces();
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void BenchBlock_Unix_CsvPlotAndSummary()
    {
        string output = Scratch();
        // Not under /tmp: the disks need a filesystem that takes O_DIRECT, which tmpfs does not.
        string disks = Path.Combine("/var/tmp", "unisharp-bench-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var result = Unisharp.Run(TimeSpan.FromMinutes(15), "bench", "block", "--sizes", "8,64", "--reps", "1", "--disk-mib", "8",
                "--targets", "unix", "--out", output, "--dir", disks, "--timeout", "120");
            Assert.True(result.ExitCode == 0, result.Stderr);

            var rows = ReadCsv(Single(output, "-block.csv"));
            string[] tools = ["unix serial", "unix parallel", "dd", "fio"];
            Assert.Equal(tools.Length * 2, rows.Count);
            foreach (string size in (string[])["8", "64"])
            {
                Assert.Equal(tools, rows.Where(r => r["buffsize_sectors"] == size).Select(r => r["tool"]));
            }
            foreach (var row in rows)
            {
                Assert.Equal("ok", row["status"]);
                Assert.Equal("8", row["disk_mib"]);
                Assert.True(double.Parse(row["mbps"], CultureInfo.InvariantCulture) > 0);
            }
            AssertPng(Single(output, "-block.png"));
            string summary = File.ReadAllText(Single(output, "-block.md"));
            Assert.Contains("| unix serial / dd | unix parallel / dd | fio / dd |", summary);
            Assert.Matches(@"\| 64 \| 32768 \| 64 \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+x \|", summary);
            Assert.False(Directory.Exists(disks) && Directory.GetFiles(disks).Length > 0, "the disk files are removed after the bench");
        }
        finally
        {
            Directory.Delete(output, recursive: true);
            if (Directory.Exists(disks))
            {
                Directory.Delete(disks, recursive: true);
            }
        }
    }

    [RequiresNamespacesFact]
    public void BenchHttp_BothStacksAllTools_CsvPlotAndSummary()
    {
        string output = Scratch();
        try
        {
            var result = Unisharp.Run(TimeSpan.FromMinutes(15), "bench", "http", "--reps", "2", "--duration", "1", "--connections", "8",
                "--requests", "200", "--concurrency", "4", "--out", output, "--timeout", "60");
            Assert.True(result.ExitCode == 0, result.Stderr);

            var rows = ReadCsv(Single(output, "-http.csv"));
            Assert.Equal(12, rows.Count);
            Assert.Equal(["wrk", "ab", "ab-k"], rows.Select(r => r["tool"]).Distinct());
            Assert.Equal(["unix-direct", "unix-socket"], rows.Select(r => r["target"]).Distinct());
            foreach (var row in rows)
            {
                Assert.Equal("ok", row["status"]);
                Assert.Equal("0", row["errors"]);
                Assert.True(double.Parse(row["requests_per_s"], CultureInfo.InvariantCulture) > 0);
                Assert.True(double.Parse(row["client_cpu_s"], CultureInfo.InvariantCulture) >= 0);
                if (row["tool"] != "wrk")
                {
                    Assert.Equal("200", row["completed"]);
                }
            }
            AssertPng(Single(output, "-http.png"));
            string summary = File.ReadAllText(Single(output, "-http.md"));
            Assert.Contains("| tool | unix-direct req/s | unix-socket req/s | unix-direct / unix-socket | unix-direct p99 ms | unix-socket p99 ms |", summary);
            Assert.Matches(@"\| ab-k \| [0-9]+ \| [0-9]+ \| [0-9.]+x \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ / [0-9.]+ \|", summary);
            AssertNoLeftoverNamespaces();
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Fact]
    public void HttpClients_WrkOutput_RateP99AndEveryKindOfError()
    {
        const string output = """
            Running 10s test @ http://198.18.0.2:80/
              2 threads and 64 connections
              Thread Stats   Avg      Stdev     Max   +/- Stdev
                Latency     2.46ms    5.76ms  41.90ms   89.64%
                Req/Sec    12.30k     4.03k   13.00k    60.00%
              Latency Distribution
                 50%  850.00us
                 75%    1.28ms
                 90%    4.64ms
                 99%    1.20s
              245817 requests in 10.00s, 91.24MB read
              Socket errors: connect 1, read 2, write 3, timeout 4
              Non-2xx or 3xx responses: 5
            Requests/sec:  24577.03
            Transfer/sec:      9.12MB
            """;
        var report = Assert.NotNull(HttpClients.ParseWrk(output));
        Assert.Equal(24577.03, report.RequestsPerSecond, 2);
        Assert.Equal(1200, report.P99Ms, 3);
        Assert.Equal(245817, report.Completed);
        Assert.Equal(15, report.Errors);

        var fast = Assert.NotNull(HttpClients.ParseWrk(output.Replace("1.20s", "812.50us").Replace("  Socket errors: connect 1, read 2, write 3, timeout 4\n", "").Replace("  Non-2xx or 3xx responses: 5\n", "")));
        Assert.Equal(0.8125, fast.P99Ms, 6);
        Assert.Equal(0, fast.Errors);
        Assert.Null(HttpClients.ParseWrk("unable to connect to 198.18.0.2:80 Connection refused\n"));
    }

    [Fact]
    public void HttpClients_AbOutput_RateP99FailedAndNon2xx()
    {
        const string output = """
            Concurrency Level:      50
            Time taken for tests:   0.412 seconds
            Complete requests:      5000
            Failed requests:        3
               (Connect: 0, Receive: 0, Length: 3, Exceptions: 0)
            Non-2xx responses:      2
            Keep-Alive requests:    5000
            Requests per second:    12135.92 [#/sec] (mean)
            Time per request:       4.120 [ms] (mean)

            Percentage of the requests served within a certain time (ms)
              50%      4
              98%      9
              99%     11
             100%     36 (longest request)
            """;
        var report = Assert.NotNull(HttpClients.ParseAb(output));
        Assert.Equal(12135.92, report.RequestsPerSecond, 2);
        Assert.Equal(11, report.P99Ms);
        Assert.Equal(5000, report.Completed);
        Assert.Equal(5, report.Errors);
        Assert.Null(HttpClients.ParseAb("apr_pollset_poll: The timeout specified has expired (70007)\nTotal of 4 requests completed\n"));
    }

    [Fact]
    public void HttpClients_BashTimes_ChildrenUserPlusSystem()
    {
        Assert.Equal(75.75, HttpClients.ChildCpuSeconds("Requests/sec: 1\n--- times\n0m0.001s 0m0.002s\n1m2.500s 0m13.250s\n"), 6);
        Assert.True(double.IsNaN(HttpClients.ChildCpuSeconds("Requests/sec: 1\n")));
    }

    [Theory]
    [InlineData(new[] { "bench", "http", "--tools", "curl" }, "unisharp: error: invalid --tools 'curl': choose from wrk, ab, ab-k, wrk-tls")]
    [InlineData(new[] { "bench", "http", "--tools", "wrk,wrk-tls" }, "unisharp: error: invalid --tools 'wrk-tls': examples/http serves no HTTPS (--app aspnet does)")]
    [InlineData(new[] { "bench", "http", "--targets", "lwip" }, "unisharp: error: invalid --targets 'lwip': choose from unix-direct, unix-socket")]
    [InlineData(new[] { "bench", "http", "--threads", "8", "--connections", "4" }, "unisharp: error: invalid --threads '8': wrk needs at least one connection per thread (--connections 4)")]
    [InlineData(new[] { "bench", "http", "--requests", "10", "--concurrency", "50" }, "unisharp: error: invalid --concurrency '50': ab cannot keep more requests in flight than --requests 10")]
    [InlineData(new[] { "bench", "http", "--duration", "0" }, "unisharp: error: invalid --duration '0': expected 1 to 3600")]
    [InlineData(new[] { "bench", "http", "--app", "nginx" }, "unisharp: error: invalid --app 'nginx': choose from http, aspnet")]
    [InlineData(new[] { "bench", "http", "--app", "http,aspnet" }, "unisharp: error: invalid --app 'http,aspnet': name one of http, aspnet")]
    [InlineData(new[] { "bench", "net", "--mode", "sideways" }, "unisharp: error: invalid --mode 'sideways': choose one of receive, send, udp-echo")]
    [InlineData(new[] { "bench", "net", "--mode", "send", "--client", "nc" }, "unisharp: error: invalid --client 'nc' with --mode send: only the socket clients (the default) do that")]
    [InlineData(new[] { "bench", "net", "--bogus" }, "unisharp: error: Unrecognized command or argument '--bogus'.")]
    [InlineData(new[] { "bench", "block", "--parallel", "maybe" }, "unisharp: error: invalid --parallel 'maybe': expected both, true or false")]
    [InlineData(new[] { "bench", "net", "--clients", "0" }, "unisharp: error: invalid --clients '0': expected a comma-separated list of integers from 1 to 256")]
    [InlineData(new[] { "bench", "net", "--targets", "vmware" }, "unisharp: error: invalid --targets 'vmware': choose from unix-direct, unix-socket, lwip, ack, qemu, firecracker")]
    [InlineData(new[] { "bench", "net", "--bytes", "12X" }, "unisharp: error: invalid --bytes '12X': expected a size such as 512M, 8M or 1G (at most 64G)")]
    [InlineData(new[] { "bench", "net", "--client", "curl" }, "unisharp: error: invalid --client 'curl': choose one of socket, nc")]
    [InlineData(new[] { "bench", "net", "--warmup", "1X" }, "unisharp: error: invalid --warmup '1X': expected a size such as 512M, 8M or 1G (at most 64G)")]
    [InlineData(new[] { "bench", "block", "--tag", "../x" }, "unisharp: error: invalid --tag '../x': expected 1 to 32 lower-case letters, digits and dashes")]
    [InlineData(new[] { "bench", "block", "--sizes", "8,x" }, "unisharp: error: invalid --sizes '8,x': expected a comma-separated list of integers from 1 to 65536")]
    public void Bench_BadFlag_OneLineErrorExit2(string[] arguments, string message)
    {
        var result = Unisharp.Run(arguments);
        Assert.Equal(2, result.ExitCode);
        string error = Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.StartsWith(message, error, StringComparison.Ordinal);
    }

    private static string Scratch()
    {
        string path = Path.Combine(Path.GetTempPath(), "unisharp-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string Single(string directory, string suffix) =>
        Assert.Single(Directory.GetFiles(directory), f => f.EndsWith(suffix, StringComparison.Ordinal));

    private static List<Dictionary<string, string>> ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path);
        string[] header = lines[0].Split(',');
        return lines.Skip(1).Select(line =>
        {
            string[] cells = line.Split(',');
            Assert.Equal(header.Length, cells.Length);
            return header.Zip(cells).ToDictionary(p => p.First, p => p.Second);
        }).ToList();
    }

    private static void AssertPng(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 10_000, $"{path} is {bytes.Length} bytes");
        Assert.Equal(s_pngMagic, bytes[..8]);
    }

    /// <summary>The bench names its namespaces usbench-PID-...: none may outlive its process.</summary>
    private static void AssertNoLeftoverNamespaces()
    {
        var list = HostCommand.Run("ip", ["netns", "list"]).Stdout;
        foreach (string line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string name = line.Split(' ')[0];
            if (!name.StartsWith("usbench-", StringComparison.Ordinal))
            {
                continue;
            }
            int pid = int.Parse(name.Split('-')[1], CultureInfo.InvariantCulture);
            Assert.True(Directory.Exists($"/proc/{pid}"), $"namespace {name} outlived its bench (process {pid})");
        }
    }
}
