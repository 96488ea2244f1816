using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>configure, build, run and clean on real apps (copies of the examples), built with NativeAOT.</summary>
[Collection(CliCollection.Name)]
public sealed class AppTests
{
    [Fact]
    public void Hello_ConfigureBuildRunClean_FourLinesAndExit0()
    {
        string app = Unisharp.CopyExample("hello");
        try
        {
            var configure = Unisharp.Run("configure", app, "-t", "unix", "--", "--interval-ms=10");
            Assert.True(configure.ExitCode == 0, configure.Stderr);
            using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(app, "unisharp.json"))))
            {
                Assert.Equal("unix", json.RootElement.GetProperty("target").GetString());
                Assert.Equal("--interval-ms=10", json.RootElement.GetProperty("bootArguments")[0].GetString());
            }

            var build = Unisharp.Run("build", app);
            Assert.True(build.ExitCode == 0, build.Stderr + build.Stdout);
            string executable = Path.Combine(app, "dist", "hello");
            Assert.True(File.Exists(executable));
            Assert.Equal(executable, build.Stdout.Trim());

            // run uses the configured boot arguments, and does not rebuild an up-to-date app.
            var run = Unisharp.Run(TimeSpan.FromMinutes(2), "run", app);
            Assert.Equal(0, run.ExitCode);
            Assert.Equal(["Hello", "Hello", "Hello", "Hello"], run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains("up to date", run.Stderr);

            // The artifact runs on its own, without the tool, and takes boot arguments directly.
            var direct = HostCommand.Run(executable, ["--count=2", "--interval-ms=1"]);
            Assert.Equal(0, direct.ExitCode);
            Assert.Equal(2, direct.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

            var bad = HostCommand.Run(executable, ["--count=many"]);
            Assert.Equal(2, bad.ExitCode);
            Assert.Equal("hello: error: invalid value 'many' for --count: expected an integer from 0 to 1000 (see --help)", bad.Stderr.Trim());

            var badThroughTool = Unisharp.Run(TimeSpan.FromMinutes(2), "run", app, "--no-build", "--", "--frequency=2");
            Assert.Equal(2, badThroughTool.ExitCode);

            var help = HostCommand.Run(executable, ["--help"]);
            Assert.Equal(0, help.ExitCode);
            Assert.Contains("--count=int", help.Stdout);
            Assert.Contains("--net tap:NAME|socket", help.Stdout);

            var clean = Unisharp.Run("clean", app);
            Assert.Equal(0, clean.ExitCode);
            Assert.False(Directory.Exists(Path.Combine(app, "dist")));
            Assert.True(File.Exists(Path.Combine(app, "unisharp.json")));
        }
        finally
        {
            Unisharp.DeleteScratch(app);
        }
    }

    [Fact]
    public void Hello_BrokenSource_BuildFailsWithTheCompilerError()
    {
        string app = Unisharp.CopyExample("hello");
        try
        {
            File.AppendAllText(Path.Combine(app, "Program.cs"), "\nthis is not C#\n");
            var build = Unisharp.Run("build", app);
            Assert.Equal(1, build.ExitCode);
            Assert.Contains("error CS", build.Stderr);
            Assert.Contains("unisharp: error: building hello for unix failed", build.Stderr);
        }
        finally
        {
            Unisharp.DeleteScratch(app);
        }
    }

    [Fact]
    public void Echo_SocketMode_AnswersLinuxNetcat()
    {
        string app = Unisharp.CopyExample("echo");
        Process? server = null;
        try
        {
            var build = Unisharp.Run("build", app);
            Assert.True(build.ExitCode == 0, build.Stderr + build.Stdout);
            ushort port = FreePort();
            server = Unisharp.Start("run", app, "-t", "unix", "--net", "socket", "--", $"--port={port}");
            WaitForListener(port, server);

            var tcp = HostCommand.Run("nc", ["-N", "127.0.0.1", port.ToString()], TimeSpan.FromSeconds(30), Encoding.ASCII.GetBytes("bytes for the echo server\n"));
            Assert.Equal("bytes for the echo server\n", tcp.Stdout);

            var udp = HostCommand.Run("nc", ["-u", "-w", "1", "127.0.0.1", port.ToString()], TimeSpan.FromSeconds(30), Encoding.ASCII.GetBytes("a datagram"));
            Assert.Equal("a datagram", udp.Stdout);

            // SIGTERM to the tool stops the unikernel it runs.
            HostCommand.Run("kill", ["-TERM", server.Id.ToString()]);
            Assert.True(server.WaitForExit(TimeSpan.FromSeconds(20)), "the tool did not exit after SIGTERM");
            Assert.Throws<SocketException>(() => new TcpClient().Connect("127.0.0.1", port));
        }
        finally
        {
            if (server is { HasExited: false })
            {
                server.Kill(entireProcessTree: true);
            }
            server?.Dispose();
            Unisharp.DeleteScratch(app);
        }
    }

    [Fact]
    public void Build_Sigterm_StopsThePublishItStarted()
    {
        string app = Unisharp.CopyExample("hello");
        Process? tool = null;
        try
        {
            tool = Unisharp.Start("build", app, "--force");
            // Wait until the tool has started the NativeAOT publish (its child processes).
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (Descendants(tool.Id).Count == 0)
            {
                if (tool.HasExited)
                {
                    Assert.Fail("the build ended before it could be interrupted: " + tool.StandardError.ReadToEnd());
                }
                Assert.True(DateTime.UtcNow < deadline, "the tool never started dotnet publish");
                Thread.Sleep(200);
            }
            Thread.Sleep(2000);
            var started = Descendants(tool.Id);

            HostCommand.Run("kill", ["-TERM", tool.Id.ToString()]);
            Assert.True(tool.WaitForExit(TimeSpan.FromSeconds(30)), "the tool did not exit after SIGTERM");
            Assert.NotEqual(0, tool.ExitCode);
            // Nothing the build started may outlive it.
            deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (started.Any(IsAlive) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
            Assert.Empty(started.Where(IsAlive).Select(p => p.Pid));
        }
        finally
        {
            if (tool is { HasExited: false })
            {
                tool.Kill(entireProcessTree: true);
            }
            tool?.Dispose();
            Unisharp.DeleteScratch(app);
        }
    }

    /// <summary>A process by its pid and start time (so a reused pid is not taken for it).</summary>
    private readonly record struct ProcessId(int Pid, string StartTime);

    /// <summary>Every process below <paramref name="root"/>, from the parent pids in /proc/*/stat.</summary>
    private static List<ProcessId> Descendants(int root)
    {
        var parents = new Dictionary<int, (int Parent, string StartTime)>();
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out int pid) && ReadStat(pid) is { } stat)
            {
                parents[pid] = stat;
            }
        }
        var found = new List<ProcessId>();
        var below = new HashSet<int> { root };
        bool grew = true;
        while (grew)
        {
            grew = false;
            foreach (var (pid, (parent, startTime)) in parents)
            {
                if (below.Contains(parent) && below.Add(pid))
                {
                    found.Add(new ProcessId(pid, startTime));
                    grew = true;
                }
            }
        }
        return found;
    }

    private static bool IsAlive(ProcessId process) =>
        ReadStat(process.Pid) is { } stat && stat.StartTime == process.StartTime && !IsZombie(process.Pid);

    private static bool IsZombie(int pid) => ReadStatFields(pid) is { } fields && fields[0] == "Z";

    private static (int Parent, string StartTime)? ReadStat(int pid) =>
        ReadStatFields(pid) is { } fields ? (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture), fields[19]) : null;

    /// <summary>The fields of /proc/PID/stat after the command name (state first), or null when it is gone.</summary>
    private static string[]? ReadStatFields(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static ushort FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return (ushort)((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void WaitForListener(ushort port, Process server)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (server.HasExited)
            {
                throw new InvalidOperationException($"echo exited early ({server.ExitCode}): {server.StandardError.ReadToEnd()}");
            }
            try
            {
                using var probe = new TcpClient();
                probe.Connect("127.0.0.1", port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }
        throw new TimeoutException($"echo did not listen on {port}");
    }
}
