using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// <c>unisharp run</c> on unix through what ships: <c>--publish</c> from 127.0.0.1 into the namespace the tool makes
/// for <c>--net tap:NAME</c>, and SIGINT/SIGTERM sent to the tool reaching the app (issue 13, items 8 and 10).
/// </summary>
[Collection(CliCollection.Name)]
public sealed class PublishTests(BuiltExamples examples)
{
    private static readonly TimeSpan s_start = TimeSpan.FromSeconds(60);

    [RequiresNamespacesFact]
    public void RunUnix_TapWithPublish_CurlFromTheHostReachesHttpAndTheNamespaceGoesAtTheEnd()
    {
        string app = AppDirectory(examples.Executable("http"));
        int port = FreePort(SocketType.Stream, ProtocolType.Tcp);
        using var tool = PeerApp.StartTool("run", app, "--no-build", "--net", "tap:ustap5", "--publish", $"{port}:80", "--", "--ipv4=198.18.5.2/24");
        string ns = tool.WaitForLog(@"reach the guest with: ip netns exec (\S+) ping 198\.18\.5\.2", s_start).Groups[1].Value;
        Assert.Contains("host side 198.18.5.1/24", tool.Log);
        tool.WaitForLog($@"publish: 127\.0\.0\.1:{port} -> 198\.18\.5\.2:80/tcp", s_start);
        tool.WaitForLog("serving HTTP on", s_start);
        Assert.Contains(ns, HostCommand.Run("ip", ["netns", "list"]).Stdout);

        var page = HostCommand.Run("curl", ["-sS", "--max-time", "30", $"http://127.0.0.1:{port}/"], TimeSpan.FromSeconds(40));
        Assert.True(page.ExitCode == 0, page.Stderr + tool.Log);
        Assert.Contains("Hello from Unisharp", page.Stdout);
        // 10 MiB byte for byte through the forwarder and our stack.
        const long Body = 10L << 20;
        var bytes = HostCommand.Run("bash", ["-c", $"set -o pipefail; curl -sS --fail --max-time 60 http://127.0.0.1:{port}/bytes/{Body} | sha256sum"], TimeSpan.FromSeconds(90));
        Assert.True(bytes.ExitCode == 0, bytes.Stderr + tool.Log);
        Assert.StartsWith(TestPattern.Sha256(Body), bytes.Stdout);

        tool.Signal("TERM");
        Assert.Equal(143, tool.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain(ns, HostCommand.Run("ip", ["netns", "list"]).Stdout);
        // The forwarder ended with the app: the port is free again.
        using var again = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        again.Bind(new IPEndPoint(IPAddress.Loopback, port));
    }

    /// <summary>
    /// The published ports recorded by configure: TCP with half-close (echo answers once it has our FIN) and UDP with
    /// one association per client, both from 127.0.0.1; then SIGINT stops the app, which says so and exits 130.
    /// </summary>
    [RequiresNamespacesFact]
    public void RunUnix_ConfiguredPublishTcpAndUdp_EchoThroughTheForwarderThenSigIntGives130()
    {
        string executable = examples.Executable("echo");
        string app = AppDirectory(executable);
        int tcp = FreePort(SocketType.Stream, ProtocolType.Tcp);
        int udp = FreePort(SocketType.Dgram, ProtocolType.Udp);
        var configure = Unisharp.Run("configure", app, "-t", "unix", "--net", "tap:ustap6", "-p", $"{tcp}:7", "-p", $"127.0.0.1:{udp}:7/udp", "--", "--ipv4=198.18.6.2/24");
        Assert.True(configure.ExitCode == 0, configure.Stderr);
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(app, "unisharp.json"))))
        {
            Assert.Equal([$"127.0.0.1:{tcp}:7/tcp", $"127.0.0.1:{udp}:7/udp"], json.RootElement.GetProperty("publish").EnumerateArray().Select(e => e.GetString()));
        }
        try
        {
            using var tool = PeerApp.StartTool("run", app, "--no-build");
            string ns = tool.WaitForLog(@"network namespace (\S+),", s_start).Groups[1].Value;
            tool.WaitForLog("echoing UDP on 198.18.6.2:7", s_start);

            using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 20_000 })
            {
                client.Connect(IPAddress.Loopback, tcp);
                byte[] sent = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("through the forwarder ", 4000)));
                client.Send(sent);
                client.Shutdown(SocketShutdown.Send);
                var back = new MemoryStream();
                byte[] buffer = new byte[16 * 1024];
                int n;
                while ((n = client.Receive(buffer)) > 0)
                {
                    back.Write(buffer, 0, n);
                }
                Assert.Equal(sent, back.ToArray());
            }

            using var first = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            using var second = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            Assert.Equal("one", UdpEcho(first, udp, "one"));
            Assert.Equal("two", UdpEcho(second, udp, "two"));
            Assert.Equal("three", UdpEcho(first, udp, "three"));

            int appPid = int.Parse(HostCommand.Run("ip", ["netns", "pids", ns]).Stdout.Trim());
            tool.Signal("INT");
            Assert.Equal(130, tool.WaitForExit(TimeSpan.FromSeconds(30)));
            Assert.Contains("SIGINT: stopping", tool.Log);
            Assert.Contains("INFO  host] stopped", tool.Log);
            Assert.False(Directory.Exists($"/proc/{appPid}"), $"the app (pid {appPid}) is still running");
            Assert.DoesNotContain(ns, HostCommand.Run("ip", ["netns", "list"]).Stdout);
        }
        finally
        {
            File.Delete(Path.Combine(app, "unisharp.json"));
        }
    }

    /// <summary>Item 8: the signal sent to the tool's process id reaches the app, which stops cleanly; no process is left.</summary>
    [Theory]
    [InlineData("TERM", 143)]
    [InlineData("INT", 130)]
    public void RunUnix_SignalToTheTool_AppStopsWithItsOwnExitCodeAndNoOrphan(string signal, int expected)
    {
        string app = AppDirectory(examples.Executable("echo"));
        int port = FreePort(SocketType.Stream, ProtocolType.Tcp);
        using var tool = PeerApp.StartTool("run", app, "--no-build", "--net", "socket", "--", $"--port={port}", "--udp=false");
        tool.WaitForLog($"echoing TCP on", s_start);
        int[] children = Children(tool.Id);
        Assert.Single(children);

        tool.Signal(signal);
        Assert.Equal(expected, tool.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains($"SIG{signal}: stopping", tool.Log);
        Assert.Contains("INFO  host] stopped", tool.Log);
        Assert.False(Directory.Exists($"/proc/{children[0]}"), $"the app (pid {children[0]}) is still running:\n{tool.Log}");
    }

    [MicroVmFact(NeedsNamespaces = true)]
    public void RunQemu_PublishToHttp_CurlFromTheHostReachesTheGuest() => CurlThroughMicroVm("qemu", "198.18.8.2");

    [MicroVmFact(NeedsNamespaces = true)]
    public void RunFirecracker_PublishToHttp_CurlFromTheHostReachesTheGuest() => CurlThroughMicroVm("firecracker", "198.18.9.2");

    [Fact]
    public void RunUnix_PublishedPortInUse_OneLineErrorBeforeAnything()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        // Not built and no namespace made: the port is checked first.
        var result = Unisharp.Run(TimeSpan.FromMinutes(3), "run", Path.Combine(Unisharp.Root, "examples", "echo"), "--no-build", "--net", "socket", "-p", $"{port}:7");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"unisharp: error: --publish 127.0.0.1:{port}:7/tcp: cannot listen on 127.0.0.1:{port}/tcp: the port is already in use", result.Stderr.Trim());
    }

    [Theory]
    [InlineData("80", "invalid --publish '80': expected [HOST_ADDR:]HOST_PORT:GUEST_PORT[/tcp|udp], e.g. 8080:80 or 127.0.0.1:5353:53/udp")]
    [InlineData("8080:80/sctp", "invalid --publish '8080:80/sctp': the protocol is tcp or udp")]
    [InlineData("8080:0", "invalid --publish '8080:0': the guest port '0' is not a number from 1 to 65535")]
    [InlineData("localhost:8080:80", "invalid --publish 'localhost:8080:80': 'localhost' is not an IPv4 address")]
    public void Run_MalformedPublish_UsageError(string value, string message)
    {
        var result = Unisharp.Run(TimeSpan.FromMinutes(3), "run", Path.Combine(Unisharp.Root, "examples", "echo"), "--no-build", "--publish", value);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"unisharp: error: {message}", result.Stderr.Trim());
    }

    /// <summary>examples/http booted by <c>unisharp run -t TARGET --publish</c>: curl on 127.0.0.1 gets its page; SIGTERM ends VM, forwarder and namespace.</summary>
    private static void CurlThroughMicroVm(string target, string guest)
    {
        string app = Unisharp.CopyExample("http");
        try
        {
            var build = Unisharp.Run(TimeSpan.FromMinutes(15), "build", app, "-t", target);
            Assert.True(build.ExitCode == 0, build.Stderr + build.Stdout);
            int port = FreePort(SocketType.Stream, ProtocolType.Tcp);
            using var tool = PeerApp.StartTool("run", app, "-t", target, "--no-build", "--net", "tap:tap0", "-p", $"{port}:80", "--", $"--ipv4={guest}/24");
            string ns = tool.WaitForLog(@"reach the guest with: ip netns exec (\S+) ping", s_start).Groups[1].Value;
            tool.WaitForLog($@"publish: 127\.0\.0\.1:{port} -> {guest.Replace(".", "\\.", StringComparison.Ordinal)}:80/tcp", s_start);
            // The guest boots under TCG in a few seconds; until its stack is up the forwarder's connection fails.
            tool.WaitForLog("serving HTTP on", TimeSpan.FromMinutes(2));
            var page = HostCommand.Run("curl", ["-sS", "--max-time", "60", "--retry", "5", "--retry-all-errors", "--retry-delay", "2", $"http://127.0.0.1:{port}/"], TimeSpan.FromSeconds(120));
            Assert.True(page.ExitCode == 0, page.Stderr + tool.Log);
            Assert.Contains("Hello from Unisharp", page.Stdout);

            tool.Signal("TERM");
            Assert.Equal(143, tool.WaitForExit(TimeSpan.FromSeconds(30)));
            Assert.DoesNotContain(ns, HostCommand.Run("ip", ["netns", "list"]).Stdout);
        }
        finally
        {
            Unisharp.DeleteScratch(app);
        }
    }

    [Theory]
    [InlineData("unix", "tap:ustap7", "--port=7", "--publish needs the guest's address: give the app a boot argument --ipv4=A.B.C.D/N (e.g. --ipv4=198.18.0.2/24)")]
    [InlineData("unix", "tap:ustap7", "--ipv4=10.0.0.2/24", "--publish: the guest's 10.0.0.2 is outside 198.18.0.0/15, so its namespace has no route to it: use an address in 198.18.0.0/15")]
    [InlineData("unix", "socket", "--port=7", "--publish 127.0.0.1:7:7/tcp: not needed with --net socket, the app listens on the host's port 7 itself (publish maps a different host port to it)")]
    [InlineData("qemu", "", "--ipv4=198.18.0.2/24", "--publish forwards into the VM's network: add --net tap:NAME")]
    public void Run_PublishToAnUnreachableGuest_UsageErrorBeforeBuilding(string target, string net, string boot, string message)
    {
        string[] publish = net == "socket" ? ["-p", "7:7"] : ["-p", "8080:7"];
        string[] network = net.Length == 0 ? [] : ["--net", net];
        var result = Unisharp.Run(TimeSpan.FromMinutes(3), ["run", Path.Combine(Unisharp.Root, "examples", "echo"), "-t", target, "--no-build", .. network, .. publish, "--", boot]);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"unisharp: error: {message}", result.Stderr.Trim());
    }

    /// <summary>The app's directory above <c>dist/NAME</c>.</summary>
    internal static string AppDirectory(string executable) => Path.GetDirectoryName(Path.GetDirectoryName(executable)!)!;

    /// <summary>A port the host is not using right now.</summary>
    internal static int FreePort(SocketType type, ProtocolType protocol)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static string UdpEcho(UdpClient client, int port, string text)
    {
        client.Client.ReceiveTimeout = 10_000;
        client.Send(Encoding.ASCII.GetBytes(text), new IPEndPoint(IPAddress.Loopback, port));
        var from = new IPEndPoint(IPAddress.Any, 0);
        byte[] answer = client.Receive(ref from);
        Assert.Equal(port, from.Port);
        return Encoding.ASCII.GetString(answer);
    }

    /// <summary>The process ids of <paramref name="pid"/>'s children (any of its threads may have started them).</summary>
    private static int[] Children(int pid) =>
        [.. Directory.GetDirectories($"/proc/{pid}/task")
            .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(int.Parse)];
}
