using System.Buffers.Binary;
using System.Diagnostics;
using Unisharp.Net;
using static Unisharp.Simulation.Tests.TestFrames;

namespace Unisharp.Simulation.Tests;

public sealed class PcapCaptureTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("unisharp-sim-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void WritePcap_FramesCrossedSwitch_HeaderAndRecordsWithVirtualTimestamps()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A, new LinkConditions(Latency: Duration.FromMicroseconds(1_500_250)));
        var b = net.AddDevice("b", B);
        net.AddNode(new EchoNode(b));
        var frame = Build(B, A, 77, 60);

        a.TrySend(frame);
        net.RunUntil(Instant.Zero + Duration.FromSeconds(5));
        string path = Path.Combine(_directory, "sim.pcap");
        net.WritePcap(path);

        byte[] file = File.ReadAllBytes(path);
        Assert.Equal(24 + 2 * (16 + 60), file.Length);
        byte[] expectedHeader = [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 1, 0, 0, 0];
        Assert.Equal(expectedHeader, file[..24]);
        // Both frames crossed the switch at 1.500250 s of virtual time: the request, then the echo.
        long epoch = SimulatedClock.Epoch.ToUnixTimeSeconds();
        for (int i = 0; i < 2; i++)
        {
            var record = file.AsSpan(24 + i * 76);
            Assert.Equal((uint)(epoch + 1), BinaryPrimitives.ReadUInt32LittleEndian(record));
            Assert.Equal(500_250u, BinaryPrimitives.ReadUInt32LittleEndian(record[4..]));
            Assert.Equal(60u, BinaryPrimitives.ReadUInt32LittleEndian(record[8..]));
            Assert.Equal(60u, BinaryPrimitives.ReadUInt32LittleEndian(record[12..]));
        }
        Assert.Equal(frame, file[40..100]);
        Assert.Equal(A, Destination(file.AsSpan(116)));
        Assert.Equal(B, Source(file.AsSpan(116)));
    }

    [Fact]
    public void WritePcap_LostFrames_NotCaptured()
    {
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A, new LinkConditions(Loss: 1));
        net.AddDevice("b", B);
        a.TrySend(Build(B, A, 1));
        net.RunUntil(Instant.Zero + Duration.FromSeconds(1));
        string path = Path.Combine(_directory, "lost.pcap");

        net.WritePcap(path);

        Assert.Equal(24, new FileInfo(path).Length);
    }

    [Fact]
    public void WritePcap_SameSeedWithFaults_IdenticalCaptures()
    {
        byte[] first = Capture(21);
        byte[] second = Capture(21);
        byte[] other = Capture(22);

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);

        byte[] Capture(ulong seed)
        {
            var net = new SimulatedNetwork(seed);
            var conditions = new LinkConditions(0.1, 0.05, 0.05, Duration.FromMilliseconds(2), Duration.FromMilliseconds(1), 10_000_000);
            var a = net.AddDevice("a", A, conditions);
            var b = net.AddDevice("b", B, conditions);
            net.AddNode(new ScheduledSender(a, B, 500, Duration.FromMicroseconds(250), 200));
            net.AddNode(new EchoNode(b));
            net.AddNode(new CountingNode(a));
            net.RunUntil(Instant.Zero + Duration.FromSeconds(1));
            string path = Path.Combine(_directory, $"run-{seed}-{Guid.NewGuid():N}.pcap");
            net.WritePcap(path);
            return File.ReadAllBytes(path);
        }
    }

    [Fact]
    public void WritePcap_ReadByTcpdump_PrintsEveryFrame()
    {
        const string tcpdump = "/usr/bin/tcpdump";
        if (!File.Exists(tcpdump))
        {
            return; // Nothing to check against on this machine.
        }
        var net = new SimulatedNetwork(1);
        var a = net.AddDevice("a", A);
        var b = net.AddDevice("b", B);
        net.AddNode(new EchoNode(b));
        a.TrySend(Build(MacAddress.Broadcast, A, 1));
        a.TrySend(Build(B, A, 2));
        net.RunUntil(Instant.Zero + Duration.FromSeconds(1));
        string path = Path.Combine(_directory, "tcpdump.pcap");
        net.WritePcap(path);

        var (exitCode, output) = RunTcpdump(tcpdump, path);

        Assert.Equal(0, exitCode);
        // One line per frame; tcpdump indents a hex dump of payloads it cannot decode under it.
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !char.IsWhiteSpace(l[0])).ToArray();
        Assert.Equal(4, lines.Length);
        Assert.Contains("02:00:00:00:00:0a > ff:ff:ff:ff:ff:ff", lines[0], StringComparison.Ordinal);
        Assert.Contains("02:00:00:00:00:0a > 02:00:00:00:00:0b", lines[1], StringComparison.Ordinal);
        // Both reach the switch before the echo node runs, which then answers each.
        Assert.Contains("02:00:00:00:00:0b > 02:00:00:00:00:0a", lines[2], StringComparison.Ordinal);
        Assert.Contains("02:00:00:00:00:0b > 02:00:00:00:00:0a", lines[3], StringComparison.Ordinal);
        Assert.All(lines, l => Assert.Contains("ethertype Unknown (0x88b5), length 64", l, StringComparison.Ordinal));
        Assert.StartsWith("2000-01-01 00:00:00.000000", lines[0], StringComparison.Ordinal);
    }

    internal static (int ExitCode, string Output) RunTcpdump(string tcpdump, string path)
    {
        var start = new ProcessStartInfo(tcpdump)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "-r", path, "-nn", "-e", "-tttt" })
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["TZ"] = "UTC";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        _ = stderr.Result;
        return (process.ExitCode, output);
    }
}
