namespace Unisharp.Logging;

/// <summary>How much a log line matters; lines below the configured level are dropped.</summary>
public enum LogLevel
{
    Debug,
    Info,
    Warning,
    Error,
    /// <summary>Nothing is logged.</summary>
    Quiet,
}
