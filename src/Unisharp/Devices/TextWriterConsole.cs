namespace Unisharp.Devices;

/// <summary>A console over a <see cref="TextWriter"/> (standard output by default), flushed after every line.</summary>
public sealed class TextWriterConsole(TextWriter? writer = null) : IConsole
{
    private readonly TextWriter _writer = writer ?? Console.Out;
    private readonly Lock _lock = new();

    public void Write(ReadOnlySpan<char> text)
    {
        lock (_lock)
        {
            _writer.Write(text);
            _writer.Flush();
        }
    }

    public void WriteLine(ReadOnlySpan<char> line)
    {
        lock (_lock)
        {
            _writer.WriteLine(line);
            _writer.Flush();
        }
    }
}
