using System.Runtime.InteropServices;

namespace Unisharp.Targets.MicroVm.Interop;

/// <summary>
/// The terminal calls of &lt;termios.h&gt; through glibc: enough to turn a serial port into a raw byte pipe.
/// glibc's <c>struct termios</c> is 60 bytes on x86_64 and arm64; it is kept opaque in a larger buffer,
/// since only glibc reads or changes it.
/// </summary>
internal static unsafe partial class Termios
{
    /// <summary>Bytes reserved for a <c>struct termios</c> (glibc's is 60).</summary>
    public const int BufferLength = 128;

    public const int TCSANOW = 0;
    public const int O_NOCTTY = 0x100;

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    public static partial int GetAttributes(int fd, byte* termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    public static partial int SetAttributes(int fd, int when, byte* termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    public static partial void MakeRaw(byte* termios);
}
