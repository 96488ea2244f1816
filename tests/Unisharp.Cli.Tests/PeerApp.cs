using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// A built example running inside a test's namespace on our stack over a TAP device, with its log collected,
/// for tests against Linux peers. Disposing it stops it (SIGTERM, then SIGKILL).
/// </summary>
internal sealed class PeerApp : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private PeerApp(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <paramref name="executable"/> in <paramref name="ns"/> with the device options and boot arguments given.</summary>
    public static PeerApp Start(NetworkNamespace ns, string executable, params string[] arguments)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])["netns", "exec", ns.Name, executable, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        return new PeerApp(Process.Start(start)!);
    }

    /// <summary>Starts <c>./unisharp</c> with <paramref name="arguments"/> in the tests' own namespace, its output collected.</summary>
    public static PeerApp StartTool(params string[] arguments) => new(Unisharp.Start(arguments));

    /// <summary>The process id: of the app, or of the tool when started with <see cref="StartTool"/>.</summary>
    public int Id => _process.Id;

    /// <summary>Sends <c>kill -SIGNAL</c> (e.g. TERM, INT) to the process.</summary>
    public void Signal(string signal) => HostCommand.Run("kill", [$"-{signal}", _process.Id.ToString()]).EnsureSuccess($"kill -{signal}");

    /// <summary>Creates a persistent TAP device in <paramref name="ns"/> with the host side's address, for apps to attach to one after another.</summary>
    public static void CreateTap(NetworkNamespace ns, string tap, string hostCidr)
    {
        ns.Exec("ip", "tuntap", "add", tap, "mode", "tap").EnsureSuccess("create the TAP");
        ns.Exec("ip", "addr", "add", hostCidr, "dev", tap).EnsureSuccess("address the host side");
        ns.Exec("ip", "link", "set", tap, "up").EnsureSuccess("TAP up");
    }

    /// <summary>Kills, by process id, every process still running in <paramref name="ns"/>.</summary>
    public static void KillAllIn(NetworkNamespace ns)
    {
        foreach (string pid in HostCommand.Run("ip", ["netns", "pids", ns.Name]).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            HostCommand.Run("kill", ["-KILL", pid.Trim()]);
        }
    }

    /// <summary>Waits until the log matches <paramref name="pattern"/> <paramref name="times"/> times; fails with the log if it does not.</summary>
    public Match WaitForLog(string pattern, TimeSpan timeout, int times = 1)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var matches = Regex.Matches(Log, pattern);
            if (matches.Count >= times)
            {
                return matches[times - 1];
            }
            if (clock.Elapsed > timeout || (_process.HasExited && clock.Elapsed > TimeSpan.FromSeconds(1)))
            {
                Assert.Fail($"no '{pattern}' (x{times}) in the log{(_process.HasExited ? $" (exited with {_process.ExitCode})" : "")}:\n{Log}");
            }
            Thread.Sleep(50);
        }
    }

    /// <summary>Waits for the app to exit by itself and returns its exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            Assert.Fail($"still running after {timeout.TotalSeconds} s:\n{Log}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            HostCommand.Run("kill", ["-TERM", _process.Id.ToString()]);
            if (!_process.WaitForExit(10_000))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
