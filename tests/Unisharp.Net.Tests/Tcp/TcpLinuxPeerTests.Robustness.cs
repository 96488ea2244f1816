using System.Diagnostics;
using System.Text.RegularExpressions;
using Unisharp.Net.Tests.Interop;

namespace Unisharp.Net.Tests.Tcp;

/// <summary>Issue 14's robustness items against real Linux tools in the namespace: hping3, nmap and Python clients.</summary>
public sealed partial class TcpLinuxPeerTests
{
    private const ushort EchoPort = 7;

    /// <summary>
    /// Echo clients in Python: <c>count</c> connections one after another, each sending a few bytes (and waiting
    /// <c>pause</c> seconds after), checking the echo; prints how many came back whole.
    /// </summary>
    private const string ClientScript = """
        import socket, sys, time
        host, count, size, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        ok = 0
        errors = []
        for i in range(count):
            data = (b'%d ' % i) * (size // 4 + 1)
            data = data[:size]
            try:
                s = socket.create_connection((host, 7), timeout=10)
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                got = b''
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                s.close()
                if got == data:
                    ok += 1
                else:
                    errors.append('%d: %d bytes back' % (i, len(got)))
            except OSError as e:
                errors.append('%d: %s' % (i, e))
            if pause:
                time.sleep(pause)
        print('ok', ok, '; '.join(errors[:5]))
        """;

    /// <summary>Runs a Python script (Debian's python3, with its scapy) in the namespace; returns its exit code and output.</summary>
    private static async Task<(int Exit, string Output)> RunPython(Peer peer, string script, TimeSpan timeout, params string[] args)
    {
        string path = TempFile(peer, "script.py");
        await File.WriteAllTextAsync(path, script);
        try
        {
            return await Task.Run(() => peer.Namespace.Exec(timeout, ["/usr/bin/python3", path, .. args]));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<(int Ok, string Output)> RunClients(Peer peer, int count, int size, double pause, TimeSpan timeout)
    {
        var (exit, output) = await RunPython(peer, ClientScript, timeout, s_us.ToString(), count.ToString(), size.ToString(),
            pause.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var match = Regex.Match(output, @"ok (\d+)");
        Assert.True(exit == 0 && match.Success, $"the clients failed ({exit}): {output}");
        return (int.Parse(match.Groups[1].Value), output);
    }

    [LinuxFact("hping3")]
    public async Task SynFlood_Hping3RandomSourcesWhileLinuxClientsEcho_AllSucceed()
    {
        await using var peer = Start(tap: true);
        await using var listener = peer.Stack.Tcp.Listen(EchoPort);
        _ = TcpRobustnessTests.Serve(listener);

        var flood = peer.Namespace.Spawn("timeout", "4", "hping3", "-S", "--flood", "--rand-source", "-p", EchoPort.ToString(), s_us.ToString());
        await Task.Delay(500);
        var (ok, output) = await RunClients(peer, count: 20, size: 10_000, pause: 0.1, TimeSpan.FromSeconds(60));
        Assert.True(flood.WaitForExit(10_000));

        var stats = peer.Stack.TcpLayer.Stats;
        Console.WriteLine($"hping3 flood: {stats.SynCookiesSent} cookies sent, {stats.SynCookiesAccepted} connections from cookies, " +
            $"{stats.SynCookiesFailed} failed (dropped), {stats.ResetsSent} resets; clients: {output}");
        Assert.True(ok == 20, $"{ok} of 20 clients served; {output}");
        Assert.True(stats.SynCookiesSent > 1000, $"the flood did not fill the half-open table ({stats.SynCookiesSent} cookies)");
    }

    [LinuxFact]
    public async Task Connections_5000ShortFromLinux_AllSucceedAndBuffersReleased()
    {
        await using var peer = Start(tap: true);
        await using var listener = peer.Stack.Tcp.Listen(EchoPort);
        _ = TcpRobustnessTests.Serve(listener);

        var watch = Stopwatch.StartNew();
        var (ok, output) = await RunClients(peer, count: 5000, size: 100, pause: 0, TimeSpan.FromSeconds(300));
        Console.WriteLine($"5000 connections in {watch.Elapsed.TotalSeconds:F1} s: {output}");

        Assert.Equal(5000, ok);
        for (int i = 0; i < 50 && peer.Stack.TcpLayer.BufferBytes > 0; i++)
        {
            await Task.Delay(100);
        }
        Assert.Equal(0, peer.Stack.TcpLayer.BufferBytes);
    }

    [LinuxFact("nmap")]
    public async Task Nmap_SynScanOf2000Ports_AllClosedQuickly()
    {
        await using var peer = Start(tap: true);

        var (exit, output) = await Task.Run(() => peer.Namespace.Exec(TimeSpan.FromSeconds(60),
            "nmap", "-sS", "-n", "-Pn", "-p", "1-2000", s_us.ToString()));
        Console.WriteLine(output);

        Assert.Equal(0, exit);
        Assert.Matches(@"2000 (closed|reset)", output);
        var took = double.Parse(Regex.Match(output, @"scanned in ([\d.]+) seconds").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        // Before the change (200 resets a second): 9.4 s; Linux: 0.16 s; after: 0.22-0.57 s here. The bound leaves room for
        // a loaded machine (one run of six under load took over a second).
        Assert.True(took < 2.0, $"nmap took {took} s");
    }

    /// <summary>
    /// Crafted frames from scapy on the TAP interface; for each, how many answers came from our MAC within a second.
    /// </summary>
    private const string CraftedScript = """
        import sys, time
        from scapy.all import AsyncSniffer, Ether, IP, ICMP, TCP, Raw, sendp, conf
        conf.verb = 0
        iface, our_mac, us, linux = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]

        def checksum(data):
            if len(data) % 2:
                data += b'\0'
            total = sum(int.from_bytes(data[i:i + 2], 'big') for i in range(0, len(data), 2))
            while total > 0xffff:
                total = (total & 0xffff) + (total >> 16)
            return (~total) & 0xffff

        def answers(frame, match):
            sniffer = AsyncSniffer(iface=iface, store=True,
                lfilter=lambda p: p.haslayer(Ether) and p[Ether].src == our_mac and match(p))
            sniffer.start()
            time.sleep(0.3)
            sendp(frame, iface=iface)
            time.sleep(1.0)
            sniffer.stop()
            return len(sniffer.results or [])

        def tcp_to(port):
            return lambda p: p.haslayer(TCP) and p[TCP].dport == port

        results = {}
        results['icmp-code-1'] = answers(Ether(dst=our_mac) / IP(src=linux, dst=us) / ICMP(type=8, code=1, id=7, seq=1) / b'ping',
            lambda p: p.haslayer(ICMP) and p[ICMP].type == 0)

        # A SYN whose MSS option claims 3 bytes (the next byte is a NOP): the TCP checksum is made by hand over the bad bytes.
        syn = IP(src=linux, dst=us) / TCP(sport=40001, dport=7, flags='S', seq=1000, options=[('MSS', 1460), ('NOP', None), ('WScale', 7)])
        raw = bytearray(bytes(syn))
        assert raw[40] == 2 and raw[41] == 4
        raw[41] = 3
        raw[43] = 1
        raw[36:38] = b'\0\0'
        pseudo = bytes(raw[12:20]) + b'\0\x06' + (len(raw) - 20).to_bytes(2, 'big')
        raw[36:38] = checksum(pseudo + bytes(raw[20:])).to_bytes(2, 'big')
        results['bad-option-syn'] = answers(Ether(dst=our_mac) / IP(bytes(raw)),
            lambda p: tcp_to(40001)(p) and p[TCP].flags == 'SA')

        results['null-to-listener'] = answers(Ether(dst=our_mac) / IP(src=linux, dst=us) / TCP(sport=40002, dport=7, flags=0, seq=5), tcp_to(40002))
        results['xmas-to-listener'] = answers(Ether(dst=our_mac) / IP(src=linux, dst=us) / TCP(sport=40003, dport=7, flags='FPU', seq=5), tcp_to(40003))
        results['syn-from-directed-broadcast'] = answers(Ether(dst=our_mac) / IP(src='198.18.0.255', dst=us) / TCP(sport=40004, dport=7, flags='S', seq=5), tcp_to(40004))
        results['syn-from-multicast'] = answers(Ether(dst=our_mac) / IP(src='224.0.0.9', dst=us) / TCP(sport=40005, dport=7, flags='S', seq=5), tcp_to(40005))
        print(' '.join('%s=%d' % kv for kv in results.items()))
        """;

    [LinuxFact("scapy")]
    public async Task CraftedSegments_FromScapy_AnsweredOrDroppedAsLinuxDoes()
    {
        await using var peer = Start(tap: true);
        await using var listener = peer.Stack.Tcp.Listen(EchoPort);

        var (exit, output) = await RunPython(peer, CraftedScript, TimeSpan.FromSeconds(60), TapName, NetworkNamespace.OurMac.ToString(),
            s_us.ToString(), NetworkNamespace.LinuxAddress.ToString());
        Console.WriteLine(output);

        Assert.True(exit == 0, output);
        // Answered: an echo request with code 1, a SYN with a bad option. Dropped: the rest.
        Assert.Contains("icmp-code-1=1 bad-option-syn=1 null-to-listener=0 xmas-to-listener=0 syn-from-directed-broadcast=0 syn-from-multicast=0",
            output);
    }
}
