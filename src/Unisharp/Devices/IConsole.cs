namespace Unisharp.Devices;

/// <summary>The unikernel's console: standard output on <c>unix</c>, the serial port on a microVM.</summary>
public interface IConsole
{
    void Write(ReadOnlySpan<char> text);

    void WriteLine(ReadOnlySpan<char> line);
}
