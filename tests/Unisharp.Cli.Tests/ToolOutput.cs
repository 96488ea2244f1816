using System.Diagnostics;
using System.Text;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// What a tool started with <see cref="Unisharp.Start"/> prints, read as it comes: its standard error (the tool's own lines),
/// its standard output (the unikernel's console) and the rest of the first line holding a given marker.
/// </summary>
internal sealed class ToolOutput
{
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _console = new();
    private readonly TaskCompletionSource<string> _marked = new();

    /// <param name="marker">The text whose line's remainder <see cref="WaitForMarked"/> returns, e.g. "reach the guest with: ".</param>
    public ToolOutput(Process tool, string marker)
    {
        tool.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
            if (e.Data?.IndexOf(marker, StringComparison.Ordinal) is int at and >= 0)
            {
                _marked.TrySetResult(e.Data[(at + marker.Length)..]);
            }
        };
        tool.OutputDataReceived += (_, e) =>
        {
            lock (_console)
            {
                _console.AppendLine(e.Data);
            }
        };
        tool.BeginErrorReadLine();
        tool.BeginOutputReadLine();
        Marker = marker;
    }

    public string Marker { get; }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public string Console
    {
        get
        {
            lock (_console)
            {
                return _console.ToString();
            }
        }
    }

    /// <summary>The rest of the marker's line, failing the test when it has not come within <paramref name="timeout"/>.</summary>
    public string WaitForMarked(TimeSpan timeout)
    {
        Assert.True(_marked.Task.Wait(timeout), $"no '{Marker.Trim()}' line: {Stderr}");
        return _marked.Task.Result;
    }

    /// <summary>Stops a tool that is still running: SIGTERM first, so that it removes what it made (QEMU, a namespace), SIGKILL after 30 s.</summary>
    public static void Stop(Process? tool)
    {
        if (tool is { HasExited: false })
        {
            HostCommand.Run("kill", ["-TERM", tool.Id.ToString()]);
            if (!tool.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                tool.Kill(entireProcessTree: true);
            }
        }
    }
}
