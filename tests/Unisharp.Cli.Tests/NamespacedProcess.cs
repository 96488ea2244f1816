using System.Diagnostics;
using System.Text;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>A process started inside a test's network namespace, its output gathered, and stopped as a user would.</summary>
internal static class NamespacedProcess
{
    public static Process StartIn(NetworkNamespace ns, params string[] command)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])["netns", "exec", ns.Name, .. command])
        {
            start.ArgumentList.Add(argument);
        }
        return Process.Start(start)!;
    }

    /// <summary>Gathers the process's standard output and error, as they come, into one log.</summary>
    public static StringBuilder Collect(Process process)
    {
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return log;
    }

    public static string Text(StringBuilder log)
    {
        lock (log)
        {
            return log.ToString();
        }
    }

    public static bool Contains(StringBuilder log, string what) => Text(log).Contains(what, StringComparison.Ordinal);

    public static bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition())
            {
                return true;
            }
            Thread.Sleep(100);
        }
        return condition();
    }

    /// <summary>SIGTERM first, so the unikernel closes its devices; SIGKILL if it hangs.</summary>
    public static void Stop(Process process)
    {
        if (process.HasExited)
        {
            return;
        }
        HostCommand.Run("kill", ["-TERM", process.Id.ToString()]);
        if (!process.WaitForExit(10_000))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
    }
}
