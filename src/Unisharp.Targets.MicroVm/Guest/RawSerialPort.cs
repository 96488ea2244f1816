using Microsoft.Win32.SafeHandles;
using Unisharp.Targets.MicroVm.Interop;

namespace Unisharp.Targets.MicroVm.Guest;

/// <summary>
/// A serial port of the guest (<c>/dev/ttyS1</c>) as a raw byte stream to the host: no line discipline, no
/// newline translation, no echo, so binary data (a pcap capture) reaches the host's end unchanged.
/// </summary>
internal static unsafe class RawSerialPort
{
    /// <summary>Opens <c>/dev/<paramref name="name"/></c> for writing in raw mode (cfmakeraw).</summary>
    /// <exception cref="IOException">No such port, or it is not a terminal (no UART at its address).</exception>
    public static Stream OpenForWriting(string name)
    {
        if (name.Length == 0 || name.Contains('/'))
        {
            throw new ArgumentException($"'{name}' is not a serial port name such as ttyS1", nameof(name));
        }
        string path = "/dev/" + name;
        // O_NOCTTY: init has no controlling terminal and must not get this one.
        int fd = Libc.Open(path, Libc.O_RDWR | Libc.O_CLOEXEC | Termios.O_NOCTTY);
        if (fd < 0)
        {
            throw Libc.LastError($"open {path} (is a second serial port attached, e.g. -device isa-serial,index=1?)");
        }
        try
        {
            byte* attributes = stackalloc byte[Termios.BufferLength];
            if (Termios.GetAttributes(fd, attributes) < 0)
            {
                throw Libc.LastError($"tcgetattr {path}");
            }
            Termios.MakeRaw(attributes);
            if (Termios.SetAttributes(fd, Termios.TCSANOW, attributes) < 0)
            {
                throw Libc.LastError($"tcsetattr {path}");
            }
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
        // Unbuffered: the pcap writer buffers its records itself.
        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Write, bufferSize: 0);
    }
}
