namespace Unisharp.Cli.Bench;

/// <summary>One run of a bench failed (the tool's own error, a timeout); the bench records it and goes on.</summary>
internal sealed class BenchRunException(string message) : Exception(message);
