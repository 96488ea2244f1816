using System.Diagnostics;

namespace Unisharp.Cli.Bench;

/// <summary>A server under test (a unikernel, a peer): started in a namespace, its log lines kept, stopped with SIGTERM.</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Lock _lock = new();

    private ServerProcess(Process process) => _process = process;

    /// <summary>Starts <paramref name="command"/> inside network namespace <paramref name="ns"/>.</summary>
    public static ServerProcess Start(string ns, IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["netns", "exec", ns, .. command])
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        var process = new Process { StartInfo = start };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.Add(e.Data);
        process.ErrorDataReceived += (_, e) => server.Add(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            process.Dispose();
            throw new CliException($"cannot start {command[0]}: {e.Message}");
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The user and system time it has used so far (from /proc), NaN once it has ended.</summary>
    public double CpuSeconds
    {
        get
        {
            try
            {
                // Fields after the command's closing parenthesis: state is the first, utime the 12th, stime the 13th (clock ticks of 1/100 s).
                string stat = File.ReadAllText($"/proc/{_process.Id}/stat");
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0;
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or FormatException or IndexOutOfRangeException)
            {
                return double.NaN;
            }
        }
    }

    /// <summary>How many lines it has printed so far (a mark for <see cref="LinesSince"/>).</summary>
    public int LineCount
    {
        get
        {
            lock (_lock)
            {
                return _lines.Count;
            }
        }
    }

    public List<string> LinesSince(int mark)
    {
        lock (_lock)
        {
            return _lines.Skip(mark).ToList();
        }
    }

    /// <summary>The last lines it printed, for error messages.</summary>
    public string Tail(int count = 8)
    {
        lock (_lock)
        {
            return string.Join('\n', _lines.TakeLast(count));
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the lines since <paramref name="mark"/>; false on timeout or exit.</summary>
    public async Task<bool> WaitForAsync(int mark, Func<List<string>, bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (condition(LinesSince(mark)))
            {
                return true;
            }
            if (_process.HasExited || clock.Elapsed > timeout)
            {
                return condition(LinesSince(mark));
            }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Asks it to stop (SIGTERM), then kills it after a grace period.</summary>
    public void Stop()
    {
        if (_process.HasExited)
        {
            return;
        }
        try
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            kill?.WaitForExit();
            if (!_process.WaitForExit(10_000))
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It ended in the meantime.
        }
    }

    public void Dispose()
    {
        Stop();
        _process.Dispose();
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_lock)
        {
            _lines.Add(line);
        }
    }
}
