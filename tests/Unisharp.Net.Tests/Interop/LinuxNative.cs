using System.Runtime.InteropServices;

namespace Unisharp.Net.Tests.Interop;

/// <summary>The few Linux calls the interop tests need: namespaces, packet sockets, poll, eventfd, ethtool.</summary>
internal static unsafe partial class LinuxNative
{
    public const int AF_PACKET = 17;
    public const int SOCK_RAW = 3;
    public const int SOL_PACKET = 263;
    public const int PACKET_IGNORE_OUTGOING = 23;
    public const ushort ETH_P_ALL = 0x0003;
    public const int CLONE_NEWNET = 0x40000000;
    public const int MSG_DONTWAIT = 0x40;
    public const short POLLIN = 0x1;
    public const int EFD_NONBLOCK = 0x800;
    public const int SIOCETHTOOL = 0x8946;
    public const uint ETHTOOL_STXCSUM = 0x17;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setns(int fd, int nstype);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int bind(int fd, byte* address, int length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int name, int* value, int length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint recv(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint send(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initial, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* argument);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint if_nametoindex(string name);

    public static void Check(long result, string what)
    {
        if (result < 0)
        {
            throw new IOException($"{what} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Turns off transmit checksum offload, so frames on a veth carry complete checksums (as on a real wire).</summary>
    public static void DisableTxChecksumOffload(string interfaceName)
    {
        int fd = socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0);
        Check(fd, "socket for ethtool");
        try
        {
            uint* value = stackalloc uint[2];
            value[0] = ETHTOOL_STXCSUM;
            value[1] = 0;
            byte* request = stackalloc byte[40];
            new Span<byte>(request, 40).Clear();
            System.Text.Encoding.ASCII.GetBytes(interfaceName, new Span<byte>(request, 15));
            *(nint*)(request + 16) = (nint)value;
            Check(ioctl(fd, SIOCETHTOOL, request), $"ethtool -K {interfaceName} tx off");
        }
        finally
        {
            close(fd);
        }
    }
}
