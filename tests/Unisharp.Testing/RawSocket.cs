using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Unisharp.Testing;

/// <summary>
/// An AF_PACKET raw socket bound to one interface: the Linux side of a link, seeing and sending whole
/// Ethernet frames. Create it inside the test's namespace (<see cref="NetworkNamespace.Inside{T}"/>).
/// </summary>
public sealed unsafe partial class RawSocket : IDisposable
{
    private const int AF_PACKET = 17;
    private const int SOCK_RAW = 3;
    private const ushort ETH_P_ALL = 0x0003;
    private const short POLLIN = 1;

    private readonly int _fd;

    private RawSocket(int fd) => _fd = fd;

    /// <summary>Opens a raw socket on <paramref name="interfaceName"/> of the calling thread's namespace.</summary>
    public static RawSocket Open(string interfaceName)
    {
        ushort protocol = BinaryPrimitives.ReverseEndianness(ETH_P_ALL);
        int fd = Socket(AF_PACKET, SOCK_RAW, protocol);
        if (fd < 0)
        {
            throw new IOException($"socket(AF_PACKET): errno {Marshal.GetLastPInvokeError()}");
        }
        uint index = IfNameToIndex(interfaceName);
        if (index == 0)
        {
            Close(fd);
            throw new IOException($"no interface {interfaceName}");
        }
        // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8].
        byte* address = stackalloc byte[20];
        new Span<byte>(address, 20).Clear();
        *(ushort*)address = AF_PACKET;
        *(ushort*)(address + 2) = protocol;
        *(int*)(address + 4) = (int)index;
        if (Bind(fd, address, 20) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            Close(fd);
            throw new IOException($"bind to {interfaceName}: errno {errno}");
        }
        return new RawSocket(fd);
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        fixed (byte* p = frame)
        {
            if (Write(_fd, p, (nuint)frame.Length) != frame.Length)
            {
                throw new IOException($"raw send: errno {Marshal.GetLastPInvokeError()}");
            }
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for a frame that <paramref name="accept"/> wants; null when none came.</summary>
    public byte[]? Receive(TimeSpan timeout, Func<byte[], bool>? accept = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        byte[] buffer = new byte[65536];
        while (true)
        {
            int left = (int)Math.Max(0, (deadline - DateTime.UtcNow).TotalMilliseconds);
            long pollfd = (long)(uint)_fd | (long)POLLIN << 32;
            int ready = Poll(&pollfd, 1, left);
            if (ready <= 0)
            {
                return null;
            }
            fixed (byte* p = buffer)
            {
                nint n = Read(_fd, p, (nuint)buffer.Length);
                if (n > 0)
                {
                    var frame = buffer.AsSpan(0, (int)n).ToArray();
                    if (accept is null || accept(frame))
                    {
                        return frame;
                    }
                }
            }
        }
    }

    public void Dispose() => Close(_fd);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static partial int Bind(int fd, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "if_nametoindex", StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint IfNameToIndex(string name);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(long* fds, nuint count, int timeout);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
