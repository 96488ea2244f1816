using System.Diagnostics;
using System.Text;

namespace Unisharp.Packaging.Tests;

/// <summary>Runs the dotnet CLI (and other programs) as a user outside the repository would, with a time limit.</summary>
internal static class Dotnet
{
    public sealed record Result(int ExitCode, string Output)
    {
        public Result Ensure(string what) =>
            ExitCode == 0 ? this : throw new InvalidOperationException($"{what} failed (exit {ExitCode}):\n{Tail(Output)}");
    }

    public static Result Run(string program, string workingDirectory, TimeSpan timeout, params string[] arguments)
    {
        var start = StartInfo(program, workingDirectory, arguments);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        var output = new StringBuilder();
        var gate = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { output.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish in {timeout.TotalSeconds:0} s:\n{Tail(output.ToString())}");
        }
        process.WaitForExit();
        lock (gate)
        {
            return new Result(process.ExitCode, output.ToString());
        }
    }

    /// <summary>How a user's shell would start <paramref name="program"/>: without the test host's MSBuild settings.</summary>
    public static ProcessStartInfo StartInfo(string program, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        // The test host's MSBuild settings must not leak into a build that stands for a user's.
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
            || k.StartsWith("MSBUILD", StringComparison.Ordinal) || k == "DOTNET_HOST_PATH" || k == "UNISHARP_ROOT").ToList())
        {
            start.Environment.Remove(name);
        }
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return start;
    }

    private static string Tail(string text) => text.Length <= 6000 ? text : text[^6000..];
}
