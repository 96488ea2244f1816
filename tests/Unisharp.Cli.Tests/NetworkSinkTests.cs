using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Unisharp.Testing;

using static Unisharp.Cli.Tests.NamespacedProcess;

namespace Unisharp.Cli.Tests;

/// <summary>The network sink (the seed's benchmark unikernel) counts every byte a Linux client sends.</summary>
[Collection(CliCollection.Name)]
public sealed class NetworkSinkTests(BuiltExamples examples)
{
    private const int Bytes = 8 * 1024 * 1024;

    [Fact]
    public void SocketMode_EveryByteCounted()
    {
        ushort port = FreePort();
        using var sink = Start("--net=socket", $"--port={port}");
        var log = Collect(sink);
        try
        {
            Assert.True(WaitFor(() => log.ToString().Contains("sink listening"), TimeSpan.FromSeconds(30)), log.ToString());
            var send = HostCommand.Run("sh", ["-c", $"head -c {Bytes} /dev/zero | nc -N 127.0.0.1 {port}"], TimeSpan.FromSeconds(60));
            Assert.Equal(0, send.ExitCode);
            Assert.True(WaitFor(() => Regex.IsMatch(log.ToString(), $@"read {Bytes} bytes in \d+ ms \("), TimeSpan.FromSeconds(30)), log.ToString());
        }
        finally
        {
            Stop(sink);
        }
    }

    [RequiresNamespacesFact]
    public void OurStackOverTap_EveryByteCounted()
    {
        using var ns = NetworkNamespace.Create();
        using var sink = Start("ip", ["netns", "exec", ns.Name, examples.Executable("network"), "--net=tap:ustap0", "--ipv4=198.18.0.2/24", "--port=8080"]);
        var log = Collect(sink);
        try
        {
            Assert.True(WaitFor(() => log.ToString().Contains("sink listening"), TimeSpan.FromSeconds(30)), log.ToString());
            ns.Exec("ip", "addr", "add", "198.18.0.1/24", "dev", "ustap0").EnsureSuccess("address the host side");
            var send = ns.Exec(TimeSpan.FromSeconds(120), "sh", "-c", $"head -c {Bytes} /dev/zero | nc -N -w 10 198.18.0.2 8080");
            Assert.True(send.ExitCode == 0, send.Stderr);
            Assert.True(WaitFor(() => Regex.IsMatch(log.ToString(), $@"read {Bytes} bytes in \d+ ms \("), TimeSpan.FromSeconds(30)), log.ToString());
        }
        finally
        {
            Stop(sink);
        }
    }

    private Process Start(params string[] arguments) => Start(examples.Executable("network"), arguments);

    private static Process Start(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        return Process.Start(start)!;
    }

    private static ushort FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return (ushort)((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
