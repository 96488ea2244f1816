namespace Unisharp.Logging;

/// <summary>
/// The unikernel's log: one line per event, <c>[time LEVEL source] message</c>, written to a
/// <see cref="TextWriter"/> (standard error on <c>unix</c>, so the app's own output stays clean).
/// </summary>
public sealed class Logger
{
    private readonly TextWriter _writer;
    private readonly Func<double> _secondsSinceStart;
    private readonly Lock _lock = new();

    /// <param name="level">The lowest level written.</param>
    /// <param name="writer">Where lines go; standard error by default.</param>
    /// <param name="secondsSinceStart">The time stamp of each line; the process's uptime by default.</param>
    public Logger(LogLevel level, TextWriter? writer = null, Func<double>? secondsSinceStart = null)
    {
        Level = level;
        _writer = writer ?? Console.Error;
        var started = Environment.TickCount64;
        _secondsSinceStart = secondsSinceStart ?? (() => (Environment.TickCount64 - started) / 1000.0);
    }

    public LogLevel Level { get; set; }

    public bool IsEnabled(LogLevel level) => level >= Level && Level != LogLevel.Quiet;

    public void Debug(string source, string message) => Write(LogLevel.Debug, source, message);
    public void Info(string source, string message) => Write(LogLevel.Info, source, message);
    public void Warning(string source, string message) => Write(LogLevel.Warning, source, message);
    public void Error(string source, string message) => Write(LogLevel.Error, source, message);

    public void Write(LogLevel level, string source, string message)
    {
        if (!IsEnabled(level))
        {
            return;
        }
        string tag = level switch
        {
            LogLevel.Debug => "DEBUG",
            LogLevel.Info => "INFO ",
            LogLevel.Warning => "WARN ",
            _ => "ERROR",
        };
        lock (_lock)
        {
            _writer.WriteLine($"[{_secondsSinceStart(),9:F3} {tag} {source}] {message}");
            _writer.Flush();
        }
    }

    /// <summary>Parses a level name as given on the command line (debug, info, warning, error, quiet).</summary>
    public static bool TryParseLevel(string text, out LogLevel level)
    {
        switch (text.ToLowerInvariant())
        {
            case "debug": level = LogLevel.Debug; return true;
            case "info": level = LogLevel.Info; return true;
            case "warn" or "warning": level = LogLevel.Warning; return true;
            case "error": level = LogLevel.Error; return true;
            case "quiet" or "none": level = LogLevel.Quiet; return true;
            default: level = LogLevel.Info; return false;
        }
    }
}
