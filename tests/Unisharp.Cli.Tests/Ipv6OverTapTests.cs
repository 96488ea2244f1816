using System.Diagnostics;
using System.Text;
using Unisharp.Testing;

using static Unisharp.Cli.Tests.NamespacedProcess;

namespace Unisharp.Cli.Tests;

/// <summary>
/// examples/echo as <c>unisharp build</c> makes it, run on our stack over a TAP device in a namespace made for the
/// test (as the README shows; <c>unisharp run --net tap:</c> makes a namespace of its own), against Linux's IPv6: radvd advertises fd00:198:18::/64 from the host side (fd00:198:18::1), and iputils ping -6
/// and <c>ip -6 neigh</c> check what users would.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class Ipv6OverTapTests(BuiltExamples examples)
{
    private const string Tap = "ustap6";
    private const string Mac = "02:00:00:00:00:06";
    private const string LinkLocal = "fe80::ff:fe00:6";
    private const string Slaac = "fd00:198:18::ff:fe00:6";
    private const string Static = "fd00:198:18::5";

    [RequiresNamespacesFact]
    public void Slaac_FromRadvd_PingLinkLocalSlaacFragmentedAndStaticAndNeighborReachable()
    {
        string executable = examples.Executable("echo");
        using var ns = NetworkNamespace.Create();
        string config = Path.Combine(Path.GetTempPath(), $"radvd-{ns.Name}.conf");
        string pid = Path.Combine(Path.GetTempPath(), $"radvd-{ns.Name}.pid");
        // NetworkNamespace turns IPv6 off; this test is about it.
        ns.Exec("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0").EnsureSuccess("IPv6 on");
        ns.Exec("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=0").EnsureSuccess("IPv6 on");
        ns.Exec("ip", "tuntap", "add", Tap, "mode", "tap").EnsureSuccess("create the TAP");
        // radvd only advertises on a router; the namespace's own setting, nothing in the root namespace.
        ns.Exec("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1").EnsureSuccess("forwarding in the namespace");
        ns.Exec("sysctl", "-qw", $"net.ipv6.conf.{Tap}.accept_dad=0").EnsureSuccess("no DAD delay on the host side");
        ns.Exec("ip", "-6", "addr", "add", "fd00:198:18::1/64", "dev", Tap, "nodad").EnsureSuccess("address the host side");
        ns.Exec("ip", "link", "set", Tap, "up").EnsureSuccess("TAP up");
        File.WriteAllText(config,
            $"interface {Tap} {{ AdvSendAdvert on; MinRtrAdvInterval 3; MaxRtrAdvInterval 4; AdvLinkMTU 1500;\n" +
            "  prefix fd00:198:18::/64 { AdvOnLink on; AdvAutonomous on; AdvValidLifetime 3600; AdvPreferredLifetime 1800; }; };\n");
        using var radvd = StartIn(ns, "radvd", "-n", "-C", config, "-p", pid, "-m", "stderr");
        using var echo = StartIn(ns, executable, $"--net=tap:{Tap}", $"--mac={Mac}", "--", "--ipv4=198.18.0.2/24", $"--ipv6={Static}/64", "--port=7");
        var log = Collect(echo);
        try
        {
            Assert.True(WaitFor(() => Contains(log, $"{Slaac}/64 (SLAAC)") && Contains(log, $"{Static}/64"), TimeSpan.FromSeconds(60)),
                $"no SLAAC address in the log:\n{Text(log)}");

            var linkLocal = ns.Exec("ping", "-6", "-c", "3", "-W", "2", $"{LinkLocal}%{Tap}");
            Assert.True(linkLocal.ExitCode == 0, linkLocal.Stdout + linkLocal.Stderr + Text(log));
            Assert.Contains("3 received", linkLocal.Stdout);

            var global = ns.Exec("ping", "-6", "-c", "3", "-W", "2", Slaac);
            Assert.True(global.ExitCode == 0, global.Stdout + global.Stderr + Text(log));
            Assert.Contains("3 received", global.Stdout);

            // 8000 bytes: fragmented by Linux on the way in, by our stack on the way out, reassembled on both sides.
            var big = ns.Exec("ping", "-6", "-c", "2", "-s", "8000", "-W", "3", Slaac);
            Assert.True(big.ExitCode == 0, big.Stdout + big.Stderr);
            Assert.Contains("2 received", big.Stdout);

            var fixedAddress = ns.Exec("ping", "-6", "-c", "2", "-W", "2", Static);
            Assert.True(fixedAddress.ExitCode == 0, fixedAddress.Stdout + fixedAddress.Stderr);

            // Linux resolved us by a solicitation our advertisement answered: the entry is REACHABLE, at our MAC.
            var neighbours = ns.Exec("ip", "-6", "neigh", "show", "dev", Tap);
            string line = neighbours.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith(Slaac + " ", StringComparison.Ordinal)) ?? "";
            Assert.True(line.Contains($"lladdr {Mac}", StringComparison.Ordinal) && line.Contains("REACHABLE", StringComparison.Ordinal),
                neighbours.Stdout);
        }
        finally
        {
            Stop(echo);
            Stop(radvd);
            File.Delete(config);
            File.Delete(pid);
        }
    }
}
