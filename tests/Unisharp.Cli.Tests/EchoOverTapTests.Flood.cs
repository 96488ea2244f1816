using Unisharp.Testing;

using static Unisharp.Cli.Tests.NamespacedProcess;

namespace Unisharp.Cli.Tests;

public sealed partial class EchoOverTapTests
{
    /// <summary>
    /// Issue 14: hping3 floods the built echo unikernel with SYNs from random sources while nc clients connect one after
    /// another; every client's bytes come back (before SYN cookies, 30-43% were reset after their handshake).
    /// </summary>
    [RequiresNamespacesFact]
    public void SynFlood_Hping3RandomSources_EveryNcClientEchoed()
    {
        using var ns = NetworkNamespace.Create();
        using var echo = Start(ns, "--mac=02:00:00:00:00:04", $"--ipv4={Ours}/24", "--port=7", "--udp=false");
        try
        {
            WaitForTap(ns, echo);
            ns.Exec("ip", "addr", "add", "198.18.0.1/24", "dev", Tap).EnsureSuccess("address the host side");
            Assert.Equal(0, ns.Exec("ping", "-c", "1", "-W", "2", Ours).ExitCode);

            using var flood = StartIn(ns, "timeout", "4", "hping3", "-S", "--flood", "--rand-source", "-p", "7", Ours);
            Thread.Sleep(500);
            var failures = new List<string>();
            for (int i = 0; i < 20; i++)
            {
                string text = $"client {i} through the flood";
                var nc = ns.Exec(TimeSpan.FromSeconds(20), "sh", "-c", $"printf '{text}' | nc -N -w 5 {Ours} 7");
                if (nc.Stdout != text)
                {
                    failures.Add($"{i}: '{nc.Stdout}' {nc.Stderr}");
                }
                Thread.Sleep(100);
            }
            Assert.True(flood.WaitForExit(10_000), "hping3 did not stop");

            Assert.Empty(failures);
        }
        finally
        {
            Stop(echo);
        }
    }
}
