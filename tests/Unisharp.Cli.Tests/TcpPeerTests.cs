using System.Diagnostics;
using System.Text.RegularExpressions;
using Unisharp.Testing;
using Xunit.Abstractions;

namespace Unisharp.Cli.Tests;

/// <summary>
/// Our TCP against Linux's over a TAP device in a namespace made per test: nc and socat as clients and as
/// servers, each direction of data checked by SHA-256, on a clean link and through <c>--net-fault</c>.
/// The app is examples/tcp-transfer (a seeded pattern out, a hash of what comes in); the host side is 198.18.0.1.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class TcpPeerTests(BuiltExamples examples, ITestOutputHelper output)
{
    private const string Tap = "ustap0";
    private const string Host = "198.18.0.1";
    private const string Ours = "198.18.0.2";
    private const string Mac = "--mac=02:00:00:00:00:02";
    private const long Clean = 256L << 20;
    private const string Fault = "--net-fault=drop=0.05,reorder=0.02,seed=7";
    // Under these faults (5% of frames lost each way) our stack receives at about 20 MB/s and sends at 1-3 MB/s
    // (fast retransmit and SACK recovery repair most losses; a sender's rate at 5% loss is bounded by its window,
    // about 4-6 segments): 256 MiB into our stack, 16 MiB out of it, to keep the test within CI's time.
    private const long FaultToUs = 256L << 20;
    private const long FaultFromUs = 16L << 20;
    private static readonly TimeSpan s_transferTimeout = TimeSpan.FromSeconds(90);

    [RequiresNamespacesFact]
    public void LinuxClients_NcAndSocat256MiBEachWay_ByteExact() => LinuxClients(Clean, Clean);

    [RequiresNamespacesFact]
    public void LinuxServers_NcAndSocat256MiBEachWay_ByteExact() => LinuxServers(Clean, Clean);

    [RequiresNamespacesFact]
    public void LinuxClients_DropAndReorder_ByteExact() => LinuxClients(FaultToUs, FaultFromUs, Fault);

    [RequiresNamespacesFact]
    public void LinuxServers_DropAndReorder_ByteExact() => LinuxServers(FaultToUs, FaultFromUs, Fault);

    /// <summary>
    /// Linux's view of a connection to us, from <c>ss -ti</c> and from TCP_INFO (what ss reads): window scaling,
    /// timestamps and SACK all negotiated. Some ss builds do not print "ts" and "sack" even between two Linux
    /// sockets, so ss must show for ours every option it shows for such a loopback connection.
    /// </summary>
    [RequiresNamespacesFact]
    public void Handshake_LinuxSsShowsWindowScaleTimestampsAndSack()
    {
        using var ns = NetworkNamespace.Create();
        PeerApp.CreateTap(ns, Tap, $"{Host}/24");
        using var app = PeerApp.Start(ns, examples.Executable("tcp-transfer"), $"--net=tap:{Tap}", Mac, $"--ipv4={Ours}/24", "--port=5001");
        app.WaitForLog("listening on", TimeSpan.FromSeconds(30));
        string ours = Inspect(ns, Ours, 5001);
        string loopback;
        using (var control = StartIn(ns, "nc -l -p 5002 > /dev/null"))
        {
            WaitListening(ns, 5002);
            loopback = Inspect(ns, "127.0.0.1", 5002);
            if (!control.WaitForExit(5000))
            {
                control.Kill(entireProcessTree: true);
            }
        }
        output.WriteLine($"ours:\n{ours}\nloopback:\n{loopback}");

        var info = Regex.Match(ours, @"tcpi_options=(\d+) wscale=(\d+),(\d+)");
        Assert.True(info.Success, ours);
        int options = int.Parse(info.Groups[1].Value);
        Assert.True((options & 1) != 0, $"timestamps not negotiated: {ours}");
        Assert.True((options & 2) != 0, $"SACK not negotiated: {ours}");
        Assert.True((options & 4) != 0, $"window scaling not negotiated: {ours}");
        Assert.Matches(@"\bwscale:\d+,\d+", ours);
        foreach (string option in (string[])[" ts ", " sack "])
        {
            if (SsLine(loopback).Contains(option, StringComparison.Ordinal))
            {
                Assert.Contains(option, SsLine(ours));
            }
        }
        app.WaitForLog($@"{Host}:\d+: received 0 bytes", TimeSpan.FromSeconds(10));
    }

    /// <summary>Linux connects to our server: it sends <paramref name="toUs"/> random bytes while we send <paramref name="fromUs"/> bytes of the pattern.</summary>
    private void LinuxClients(long toUs, long fromUs, params string[] faults)
    {
        using var ns = NetworkNamespace.Create();
        PeerApp.CreateTap(ns, Tap, $"{Host}/24");
        var (file, fileHash) = TestPattern.RandomFile(toUs);
        try
        {
            string patternHash = TestPattern.Sha256(fromUs);
            using var app = PeerApp.Start(ns, examples.Executable("tcp-transfer"),
                [$"--net=tap:{Tap}", Mac, .. faults, $"--ipv4={Ours}/24", "--port=5001", $"--send={fromUs}"]);
            app.WaitForLog("listening on", TimeSpan.FromSeconds(30));
            string[] clients = [$"nc -N -w 30 {Ours} 5001", $"socat -t 60 - TCP:{Ours}:5001"];
            for (int i = 0; i < clients.Length; i++)
            {
                var clock = Stopwatch.StartNew();
                var client = ns.Exec(s_transferTimeout, "bash", "-c", $"set -o pipefail; {clients[i]} < {file} | sha256sum");
                output.WriteLine($"{clients[i]}: {clock.Elapsed.TotalSeconds:F1} s");
                Assert.True(client.ExitCode == 0, $"{clients[i]} failed: {client.Stderr}\n{app.Log}");
                Assert.True(client.Stdout.StartsWith(patternHash, StringComparison.Ordinal), $"{clients[i]} received other bytes than we sent: {client.Stdout}\n{app.Log}");
                app.WaitForLog($@"{Host}:\d+: received {toUs} bytes sha256 {fileHash}", TimeSpan.FromSeconds(30), times: i + 1);
                app.WaitForLog($@"{Host}:\d+: sent {fromUs} bytes sha256 {patternHash}", TimeSpan.FromSeconds(30), times: i + 1);
            }
            output.WriteLine(app.Log);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>We connect to Linux servers, one direction at a time (nc -l ends a connection on the peer's FIN).</summary>
    private void LinuxServers(long toUs, long fromUs, params string[] faults)
    {
        string executable = examples.Executable("tcp-transfer");
        using var ns = NetworkNamespace.Create();
        PeerApp.CreateTap(ns, Tap, $"{Host}/24");
        var (file, fileHash) = TestPattern.RandomFile(toUs);
        try
        {
            string patternHash = TestPattern.Sha256(fromUs);
            (string Server, ushort Port, bool WeSend)[] cases =
            [
                ("nc -l -p 6001 < /dev/null | sha256sum", 6001, true),
                ($"nc -l -N -p 6002 < {file}", 6002, false),
                ("socat -u TCP-LISTEN:6003,reuseaddr STDOUT | sha256sum", 6003, true),
                ($"socat -u FILE:{file} TCP-LISTEN:6004,reuseaddr", 6004, false),
            ];
            foreach (var (command, port, weSend) in cases)
            {
                var clock = Stopwatch.StartNew();
                var server = Task.Run(() => ns.Exec(s_transferTimeout, "bash", "-c", $"set -o pipefail; {command}"));
                WaitListening(ns, port);
                string log;
                // Under faults, a capture of what our stack saw explains a failure (it is small: a few MB).
                string? pcap = faults.Length > 0 ? Path.Combine(Path.GetTempPath(), $"peer-{Guid.NewGuid():N}.pcap") : null;
                try
                {
                    using var app = PeerApp.Start(ns, executable,
                        [$"--net=tap:{Tap}", Mac, .. faults, .. (pcap is null ? (string[])[] : [$"--pcap={pcap}"]),
                         $"--ipv4={Ours}/24", $"--connect={Host}:{port}", $"--send={(weSend ? fromUs : 0)}"]);
                    int exit = app.WaitForExit(s_transferTimeout);
                    log = app.Log;
                    Assert.True(exit == 0, $"against '{command}': exit {exit}\n{log}\n{FirstFrames(pcap)}");
                }
                finally
                {
                    if (pcap is not null)
                    {
                        File.Delete(pcap);
                    }
                }
                Assert.True(server.Wait(TimeSpan.FromSeconds(30)), $"'{command}' did not end after our close\n{log}");
                var result = server.Result;
                output.WriteLine($"{command}: {clock.Elapsed.TotalSeconds:F1} s");
                Assert.True(result.ExitCode == 0, $"'{command}' failed: {result.Stderr}\n{log}");
                if (weSend)
                {
                    Assert.True(result.Stdout.StartsWith(patternHash, StringComparison.Ordinal), $"'{command}' received other bytes than we sent: {result.Stdout}\n{log}");
                    Assert.Matches($@"sent {fromUs} bytes sha256 {patternHash}", log);
                }
                else
                {
                    Assert.Matches($@"received {toUs} bytes sha256 {fileHash}", log);
                }
            }
        }
        finally
        {
            File.Delete(file);
            // A Linux server left waiting by a failed case would outlive the namespace.
            PeerApp.KillAllIn(ns);
        }
    }

    private static string FirstFrames(string? pcap) =>
        pcap is null || !File.Exists(pcap) ? "" : "first frames our stack saw:\n" + HostCommand.Run("sh", ["-c", $"tcpdump -nn -r {pcap} 2>&1 | head -40"]).Stdout;

    /// <summary>Opens a connection from Linux and, while it is open, reads TCP_INFO on it and runs <c>ss -tin</c>.</summary>
    private static string Inspect(NetworkNamespace ns, string address, int port)
    {
        const string script = """
            import socket, subprocess, sys
            s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
            info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
            print(f"tcpi_options={info[5]} wscale={info[6] & 15},{info[6] >> 4}")
            print(subprocess.run(["ss", "-tin", "dst", f"{sys.argv[1]}:{sys.argv[2]}"], capture_output=True, text=True).stdout)
            s.close()
            """;
        return ns.Exec(TimeSpan.FromSeconds(30), "python3", "-c", script, address, port.ToString()).EnsureSuccess("inspect a connection").Stdout;
    }

    /// <summary>The line of ss's output with the TCP details, padded so options match as whole words.</summary>
    private static string SsLine(string text) =>
        " " + (text.Split('\n').FirstOrDefault(l => l.Contains("rto:", StringComparison.Ordinal)) ?? "").Trim() + " ";

    private static void WaitListening(NetworkNamespace ns, ushort port)
    {
        var clock = Stopwatch.StartNew();
        while (!ns.Exec("ss", "-Hltn", $"sport = :{port}").Stdout.Contains($":{port}", StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"nothing listens on port {port}");
            Thread.Sleep(50);
        }
    }

    private static Process StartIn(NetworkNamespace ns, string command)
    {
        var start = new ProcessStartInfo("ip") { UseShellExecute = false };
        foreach (string argument in (string[])["netns", "exec", ns.Name, "bash", "-c", $"exec {command}"])
        {
            start.ArgumentList.Add(argument);
        }
        return Process.Start(start)!;
    }
}
