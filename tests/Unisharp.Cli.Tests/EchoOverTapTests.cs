using System.Diagnostics;
using System.Text;
using Unisharp.Testing;

using static Unisharp.Cli.Tests.NamespacedProcess;

namespace Unisharp.Cli.Tests;

/// <summary>
/// The echo unikernel with our own stack over a TAP device, against real Linux peers (ping, arping, nc,
/// socat, dnsmasq, tcpdump) in a namespace made for each test. The host side of the link is 198.18.0.1/24.
/// </summary>
[Collection(CliCollection.Name)]
public sealed partial class EchoOverTapTests(BuiltExamples examples)
{
    private const string Tap = "ustap0";
    private const string Ours = "198.18.0.2";

    [RequiresNamespacesFact]
    public void StaticAddress_PingArpingUdpEchoAndCapture()
    {
        using var ns = NetworkNamespace.Create();
        string pcap = Path.Combine(Path.GetTempPath(), $"echo-{Guid.NewGuid():N}.pcap");
        using var echo = Start(ns, "--mac=02:00:00:00:00:02", $"--pcap={pcap}", $"--ipv4={Ours}/24", "--port=7");
        try
        {
            WaitForTap(ns, echo);
            ns.Exec("ip", "addr", "add", "198.18.0.1/24", "dev", Tap).EnsureSuccess("address the host side");

            var ping = ns.Exec("ping", "-c", "3", "-W", "2", Ours);
            Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
            Assert.Contains("3 received", ping.Stdout);

            // 8000 bytes: fragmented by Linux on the way in, by our stack on the way out.
            var big = ns.Exec("ping", "-c", "2", "-s", "8000", "-W", "3", Ours);
            Assert.True(big.ExitCode == 0, big.Stdout + big.Stderr);
            Assert.Contains("2 received", big.Stdout);

            var arping = ns.Exec("arping", "-c", "2", "-w", "5", "-I", Tap, Ours);
            Assert.Contains("Received 2 response", arping.Stdout);
            Assert.Contains("02:00:00:00:00:02", arping.Stdout, StringComparison.OrdinalIgnoreCase);

            var nc = ns.Exec(TimeSpan.FromSeconds(20), "sh", "-c", $"printf 'over nc' | nc -u -w 1 {Ours} 7");
            Assert.Equal("over nc", nc.Stdout);

            var socat = ns.Exec(TimeSpan.FromSeconds(20), "sh", "-c", $"printf 'over socat' | socat -t 1 - UDP:{Ours}:7");
            Assert.Equal("over socat", socat.Stdout);

            // TCP through our stack: a megabyte of random bytes comes back unchanged.
            var tcp = ns.Exec(TimeSpan.FromSeconds(60), "sh", "-c",
                $"head -c 1048576 /dev/urandom > /tmp/{ns.Name}.in && nc -N -w 10 {Ours} 7 < /tmp/{ns.Name}.in > /tmp/{ns.Name}.out; " +
                $"sha256sum < /tmp/{ns.Name}.in; sha256sum < /tmp/{ns.Name}.out; stat -c %s /tmp/{ns.Name}.out; rm -f /tmp/{ns.Name}.in /tmp/{ns.Name}.out");
            var lines = tcp.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 3, tcp.Stdout + tcp.Stderr);
            Assert.Equal("1048576", lines[2]);
            Assert.Equal(lines[0], lines[1]);

            // A closed port answers with ICMP port unreachable (checked in the capture below).
            ns.Exec(TimeSpan.FromSeconds(20), "sh", "-c", $"printf x | nc -u -w 1 {Ours} 9");
        }
        finally
        {
            Stop(echo);
        }
        try
        {
            var read = HostCommand.Run("tcpdump", ["-nn", "-r", pcap]);
            Assert.Equal(0, read.ExitCode);
            Assert.Contains($"IP {Ours} > 198.18.0.1: ICMP echo reply", read.Stdout);
            Assert.Contains($"ARP, Reply {Ours} is-at 02:00:00:00:00:02", read.Stdout);
            Assert.Contains($"IP {Ours}.7 > 198.18.0.1.", read.Stdout);
            Assert.Contains($"IP {Ours} > 198.18.0.1: ICMP {Ours} udp port 9 unreachable", read.Stdout);
        }
        finally
        {
            File.Delete(pcap);
        }
    }

    [RequiresNamespacesFact]
    public void NoAddress_LeaseFromDnsmasq_UsedAndRenewed()
    {
        using var ns = NetworkNamespace.Create();
        ns.Exec("ip", "tuntap", "add", Tap, "mode", "tap").EnsureSuccess("create the TAP");
        ns.Exec("ip", "addr", "add", "198.18.0.1/24", "dev", Tap).EnsureSuccess("address the host side");
        ns.Exec("ip", "link", "set", Tap, "up").EnsureSuccess("TAP up");
        string leases = Path.Combine(Path.GetTempPath(), $"leases-{Guid.NewGuid():N}");
        // dnsmasq's shortest lease is two minutes, so the renewal at T1 comes after one minute.
        using var dnsmasq = StartIn(ns, "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", $"--interface={Tap}", "--bind-interfaces",
            "--dhcp-range=198.18.0.50,198.18.0.50,255.255.255.0,2m", $"--dhcp-leasefile={leases}", "--log-dhcp", "--log-facility=-");
        var dnsmasqLog = Collect(dnsmasq);
        using var echo = Start(ns, "--mac=02:00:00:00:00:03", "--tcp=false", "--port=7", "--log-level=debug");
        var echoLog = Collect(echo);
        try
        {
            Assert.True(WaitFor(() => echoLog.ToString().Contains("leased 198.18.0.50/24"), TimeSpan.FromSeconds(30)), echoLog.ToString());
            var ping = ns.Exec("ping", "-c", "2", "-W", "2", "198.18.0.50");
            Assert.True(ping.ExitCode == 0, ping.Stdout);
            var nc = ns.Exec(TimeSpan.FromSeconds(20), "sh", "-c", "printf 'leased' | nc -u -w 1 198.18.0.50 7");
            Assert.Equal("leased", nc.Stdout);

            Assert.True(WaitFor(() => Count(dnsmasqLog.ToString(), "DHCPACK") >= 2, TimeSpan.FromSeconds(90)),
                $"no renewal seen:\n{dnsmasqLog}\n{echoLog}");
            Assert.Contains("renew", echoLog.ToString(), StringComparison.OrdinalIgnoreCase);
            var after = ns.Exec("ping", "-c", "1", "-W", "2", "198.18.0.50");
            Assert.Equal(0, after.ExitCode);
        }
        finally
        {
            Stop(echo);
            Stop(dnsmasq);
            File.Delete(leases);
        }
    }

    private Process Start(NetworkNamespace ns, params string[] bootArguments) =>
        StartIn(ns, [examples.Executable("echo"), $"--net=tap:{Tap}", .. bootArguments]);

    private static void WaitForTap(NetworkNamespace ns, Process echo)
    {
        if (!WaitFor(() => echo.HasExited || ns.Exec("ip", "link", "show", Tap).ExitCode == 0, TimeSpan.FromSeconds(20)) || echo.HasExited)
        {
            throw new InvalidOperationException($"echo did not open {Tap}: {(echo.HasExited ? echo.StandardError.ReadToEnd() : "timeout")}");
        }
        // The stack announces its address right away; give it a moment to be up before peers talk to it.
        Thread.Sleep(300);
    }

    private static int Count(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal))
        {
            n++;
        }
        return n;
    }
}
