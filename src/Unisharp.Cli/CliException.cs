namespace Unisharp.Cli;

/// <summary>A failure the tool reports as one line, <c>unisharp: error: MESSAGE</c>, with an exit code.</summary>
internal sealed class CliException(string message, int exitCode = CliException.Failure) : Exception(message)
{
    /// <summary>Something went wrong while doing the work (a build failed, a tool is missing).</summary>
    public const int Failure = 1;

    /// <summary>The command line was wrong (unknown target, bad option): as for a parse error.</summary>
    public const int Usage = 2;

    public int ExitCode { get; } = exitCode;
}
