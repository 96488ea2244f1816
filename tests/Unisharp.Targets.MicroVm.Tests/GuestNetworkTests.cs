using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Unisharp.Testing;
using Xunit.Abstractions;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// examples/echo as a microVM under QEMU (TCG), its network card on a TAP in a namespace made for the test, and
/// Linux on the other side: ping gets replies from our stack, TCP and UDP echo round trips with nc, and the
/// guest's pcap capture (unisharp.pcap=ttyS1, the second serial port written to a host file) reads in tcpdump.
/// The card offers checksum offload and TCP segmentation both ways (QEMU's TAP with a virtio-net header), as
/// Firecracker's always does, so TCP and UDP frames reach the guest with partial checksums and TCP in 64 KiB
/// segments; one boot checks that the card without offload (vnet_hdr=off) works too.
/// One boot per case does it all, since TCG is slow.
/// </summary>
public sealed class GuestNetworkTests(EchoImageFixture echo, ITestOutputHelper output) : IClassFixture<EchoImageFixture>
{
    private const string GuestMac = "02:00:00:00:00:02";
    private static readonly TimeSpan s_bootTimeout = TimeSpan.FromSeconds(120);

    private static string Kernel(string file) => Path.Combine(BootFactAttribute.KernelDirectory.Value!, file);

    [GuestNetworkFact]
    public Task Echo_PcWithVirtioNetPci_AnswersPingTcpUdpAndCapturesPcap() =>
        RunEchoAsync("qemu", "pc", Kernel("vmlinux"), subnet: 20, extraKernelArguments: "", offload: true);

    [GuestNetworkFact]
    public Task Echo_MicrovmWithVirtioMmio_AnswersPingTcpUdpAndCapturesPcap() =>
        RunEchoAsync("firecracker", "microvm", Kernel("vmlinux"), subnet: 21, extraKernelArguments: BootTests.TscFrequencyArgument(), offload: true);

    /// <summary>Booted from the bzImage and SeaBIOS, QEMU's default firmware (the target's vmlinux and qboot are above).</summary>
    [GuestNetworkFact]
    public Task Echo_PcCardWithoutOffload_AnswersPingTcpUdpInPlainFrames() =>
        RunEchoAsync("qemu", "pc", Kernel("bzImage"), subnet: 22, extraKernelArguments: "", offload: false);

    /// <summary>
    /// echo told to exit after one connection: the VM stops by itself moments after the connection's last frames, and
    /// the capture then holds them: the device writes out its records when the app ends, before the power-off.
    /// </summary>
    [GuestNetworkFact]
    public async Task Echo_ExitsAfterItsLastConnection_CaptureCompleteWhenTheVmStops()
    {
        string host = "198.18.23.1";
        string guest = "198.18.23.2";
        string pcap = Path.Combine(Path.GetTempPath(), $"guest-exit-{Environment.ProcessId}.pcap");
        File.Delete(pcap);
        using var ns = NetworkNamespace.Create("usgn");
        ns.Exec("ip", "tuntap", "add", "tap0", "mode", "tap").EnsureSuccess("add tap0");
        ns.Exec("ip", "addr", "add", $"{host}/24", "dev", "tap0").EnsureSuccess("address tap0");
        ns.Exec("ip", "link", "set", "tap0", "up").EnsureSuccess("tap0 up");
        string append = $"console=ttyS0 panic=-1 quiet unisharp.pcap=ttyS1 --ipv4={guest}/24 --port=7 --connections=1";
        var arguments = QemuGuest.Arguments("pc", Kernel("vmlinux"), echo.Initrd("qemu"), append, "tap0", GuestMac, pcap);
        await using (var vm = QemuGuest.Start(ns, arguments))
        {
            try
            {
                Assert.True(await vm.WaitForConsoleAsync("echoing UDP", s_bootTimeout), "echo did not start");
                string text = NumberedLines(64 * 1024);
                var tcp = HostCommand.Run("ip", ["netns", "exec", ns.Name, "nc", "-N", "-w", "20", guest, "7"], TimeSpan.FromSeconds(60), Encoding.ASCII.GetBytes(text));
                Assert.True(text == tcp.Stdout, $"the TCP echo differs from what was sent: {tcp.Stderr}");

                // isa-debug-exit: QEMU exits with (code << 1) | 1, so the app's 0 is 1.
                Assert.Equal(1, await vm.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                Assert.Contains("echoed 1 connection(s): exiting", vm.Console);
            }
            finally
            {
                output.WriteLine(vm.Console);
            }
        }

        var dump = HostCommand.Run("tcpdump", ["-n", "-r", pcap], TimeSpan.FromSeconds(30));
        output.WriteLine(dump.Stdout);
        Assert.True(dump.ExitCode == 0, $"tcpdump cannot read the capture: {dump.Stderr}");
        // Both FINs passed in the app's last moments (it exits a fifth of a second after the connection): the capture has them.
        Assert.Matches($@"IP {Regex.Escape(guest)}\.7 > {Regex.Escape(host)}\.\d+: Flags \[[^\]]*F[^\]]*\]", dump.Stdout);
        Assert.Matches($@"IP {Regex.Escape(host)}\.\d+ > {Regex.Escape(guest)}\.7: Flags \[[^\]]*F[^\]]*\]", dump.Stdout);
        File.Delete(pcap);
    }

    private async Task RunEchoAsync(string target, string machine, string kernel, int subnet, string extraKernelArguments, bool offload)
    {
        string initrd = echo.Initrd(target);
        string host = $"198.18.{subnet}.1";
        string guest = $"198.18.{subnet}.2";
        string pcap = Path.Combine(Path.GetTempPath(), $"guest-{machine}-{Environment.ProcessId}.pcap");
        File.Delete(pcap);
        using var ns = NetworkNamespace.Create("usgn");
        ns.Exec("ip", "tuntap", "add", "tap0", "mode", "tap").EnsureSuccess("add tap0");
        ns.Exec("ip", "addr", "add", $"{host}/24", "dev", "tap0").EnsureSuccess("address tap0");
        ns.Exec("ip", "link", "set", "tap0", "up").EnsureSuccess("tap0 up");

        string append = $"console=ttyS0 panic=-1 quiet {extraKernelArguments} unisharp.pcap=ttyS1 --ipv4={guest}/24 --port=7";
        var arguments = QemuGuest.Arguments(machine, kernel, initrd, append, "tap0", GuestMac, pcap, offload);
        output.WriteLine($"ip netns exec {ns.Name} qemu-system-x86_64 {string.Join(' ', arguments)}");
        await using (var vm = QemuGuest.Start(ns, arguments))
        {
            try
            {
                Assert.True(await vm.WaitForConsoleAsync("echoing UDP", s_bootTimeout), "echo did not start");
                // The card's offloads as the guest found them (MicroVmTarget logs the device's receive path).
                if (offload)
                {
                    Assert.Contains("offload: checksum, TCP segmentation (card: ", vm.Console);
                    Assert.Contains("rx-gro-hw", vm.Console);
                }
                else
                {
                    // vnet_hdr=off: the card offers nothing but checking received checksums; the guest kernel finishes ours.
                    Assert.Contains("offload: checksum (card: rx-checksum)", vm.Console);
                }

                // Ping: Linux resolves our MAC by ARP, then every request gets its reply.
                var ping = ns.Exec(TimeSpan.FromSeconds(60), "ping", "-c", "10", "-i", "0.2", "-W", "5", guest);
                output.WriteLine(ping.Stdout);
                Assert.Equal(0, ping.ExitCode);
                Assert.Contains("10 received", ping.Stdout);

                // TCP: 64 KiB of numbered lines through our stack and back, byte for byte; with offload, 1 MiB more.
                int[] lengths = offload ? [64 * 1024, 1 << 20] : [64 * 1024];
                foreach (int length in lengths)
                {
                    string text = NumberedLines(length);
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    var tcp = HostCommand.Run("ip", ["netns", "exec", ns.Name, "nc", "-N", "-w", "20", guest, "7"], TimeSpan.FromSeconds(60), Encoding.ASCII.GetBytes(text));
                    output.WriteLine($"TCP echo of {length} bytes: {clock.Elapsed.TotalSeconds:F1} s");
                    Assert.True(tcp.ExitCode == 0, $"nc (TCP) failed: {tcp.Stderr}");
                    Assert.Equal(text.Length, tcp.Stdout.Length);
                    Assert.True(text == tcp.Stdout, "the TCP echo differs from what was sent");
                }

                // UDP: one datagram out, the same one back; nc gives up 5 s after its input ends.
                var udp = HostCommand.Run("ip", ["netns", "exec", ns.Name, "nc", "-u", "-w", "5", guest, "7"], TimeSpan.FromSeconds(30), "hello over udp\n"u8.ToArray());
                Assert.Equal("hello over udp\n", udp.Stdout);

                // The guest's capture writes out its records once the link has been quiet for a second: the UDP
                // reply, the last frame, reaches the file with no frame after it.
                await WaitUntilStillAsync(pcap, TimeSpan.FromSeconds(30));
            }
            finally
            {
                output.WriteLine(vm.Console);
            }
        }

        // The capture: a pcap file tcpdump reads, with the pings and the TCP echo in it.
        var dump = HostCommand.Run("tcpdump", ["-n", "-r", pcap], TimeSpan.FromSeconds(30));
        output.WriteLine($"tcpdump -n -r {pcap}: {dump.Stdout.Split('\n').Length} lines; {dump.Stderr.Trim()}");
        Assert.True(dump.ExitCode == 0, $"tcpdump cannot read the capture: {dump.Stderr}");
        Assert.Contains($"{host} > {guest}: ICMP echo request", dump.Stdout);
        Assert.Contains($"{guest} > {host}: ICMP echo reply", dump.Stdout);
        Assert.Contains($"{guest}.7 > {host}.", dump.Stdout);
        Assert.Matches($@"{Regex.Escape(guest)}\.7 > {Regex.Escape(host)}\.\d+: UDP, length 15", dump.Stdout);
        if (offload)
        {
            // The capture shows frames as the card gives and takes them: TCP segments over the MTU both ways (joined by
            // the host, cut by the card), and the host's checksums left partial, which tcpdump calls incorrect.
            Assert.True(LargestTcpPayload(dump.Stdout, from: host) > 1460, "no segment over the MTU reached the guest");
            Assert.True(LargestTcpPayload(dump.Stdout, from: guest) > 1460, "the guest sent no segment over the MTU");
            var verbose = HostCommand.Run("tcpdump", ["-n", "-vv", "-r", pcap, "tcp", "and", "dst", "host", guest], TimeSpan.FromSeconds(30));
            Assert.Contains("incorrect", verbose.Stdout);
        }
        else
        {
            Assert.True(LargestTcpPayload(dump.Stdout, from: host) <= 1460);
            Assert.True(LargestTcpPayload(dump.Stdout, from: guest) <= 1460);
        }
        File.Delete(pcap);
    }

    /// <summary>The largest TCP payload in tcpdump's lines from <paramref name="from"/> (0 when none).</summary>
    private static int LargestTcpPayload(string dump, string from) =>
        Regex.Matches(dump, $@"IP {Regex.Escape(from)}\.\d+ > [\d.]+: Flags \[[^\]]*\].*, length (\d+)")
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
            .DefaultIfEmpty(0)
            .Max();

    /// <summary>
    /// Waits until the file has stopped growing for two seconds: longer than the capture waits to write out its records
    /// after the last frame, and the serial port has drained.
    /// </summary>
    private static async Task WaitUntilStillAsync(string path, TimeSpan timeout)
    {
        long last = -1;
        int still = 0;
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            long length = File.Exists(path) ? new FileInfo(path).Length : 0;
            still = length == last && length > 0 ? still + 1 : 0;
            if (still == 2)
            {
                return;
            }
            last = length;
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    private static string NumberedLines(int length)
    {
        var text = new StringBuilder(length + 64);
        for (int i = 0; text.Length < length; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"line {i:D6} of the guest network test\n");
        }
        return text.ToString(0, length);
    }
}
