using System.Diagnostics;
using System.Text;

namespace Unisharp.Cli.HostTools;

/// <summary>Runs host programs (dotnet, apt-get) and collects what they print.</summary>
internal static class ProcessRunner
{
    public sealed record Result(int ExitCode, string Output);

    /// <summary>Runs <paramref name="program"/> to completion with its output captured (stdout and stderr interleaved).</summary>
    /// <param name="echo">Also copy each line to our standard error as it comes (verbose mode).</param>
    /// <param name="lineReceived">Called with each line as it comes (progress).</param>
    public static async Task<Result> RunAsync(string program, IEnumerable<string> arguments, string? workingDirectory = null,
        bool echo = false, IReadOnlyDictionary<string, string>? environment = null, Action<string>? lineReceived = null,
        CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                start.Environment[key] = value;
            }
        }
        var output = new StringBuilder();
        var gate = new Lock();
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (gate)
            {
                output.AppendLine(line);
                if (echo)
                {
                    Console.Error.WriteLine(line);
                }
                lineReceived?.Invoke(line);
            }
        }
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new CliException($"cannot run '{program}': {e.Message}");
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        process.WaitForExit();
        return new Result(process.ExitCode, output.ToString());
    }

    /// <summary>The full path of <paramref name="command"/> on PATH, or null.</summary>
    public static string? Which(string command)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, command);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
