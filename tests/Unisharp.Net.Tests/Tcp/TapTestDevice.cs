using System.Runtime.InteropServices;
using Unisharp.Devices;
using Unisharp.Net.Tests.Interop;

namespace Unisharp.Net.Tests.Tcp;

/// <summary>
/// A TAP device for the TCP interop tests (the test project does not reference the unix target, whose TapDevice
/// is the production one): attaches to a TAP interface that already exists in the caller's namespace.
/// </summary>
internal sealed unsafe partial class TapTestDevice : INetworkDevice
{
    private const int O_RDWR = 2;
    private const int O_NONBLOCK = 0x800;
    private const nuint TUNSETIFF = 0x400454ca;
    private const short IFF_TAP = 0x0002;
    private const short IFF_NO_PI = 0x1000;

    private readonly int _fd;
    private readonly int _wake;
    private readonly byte[] _rx = new byte[2048];
    private readonly byte[] _tx = new byte[2048];
    private bool _disposed;

    private TapTestDevice(string name, MacAddress mac, int fd, int wake)
    {
        Name = name;
        MacAddress = mac;
        _fd = fd;
        _wake = wake;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    /// <summary>Attaches to TAP interface <paramref name="name"/>; call it on a thread inside its namespace.</summary>
    public static TapTestDevice Open(string name, MacAddress mac)
    {
        int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
        LinuxNative.Check(fd, "open(/dev/net/tun)");
        // struct ifreq: the name (16 bytes), then the flags (a short) in the union.
        byte* request = stackalloc byte[40];
        new Span<byte>(request, 40).Clear();
        System.Text.Encoding.ASCII.GetBytes(name, new Span<byte>(request, 15));
        *(short*)(request + 16) = IFF_TAP | IFF_NO_PI;
        if (LinuxNative.ioctl(fd, TUNSETIFF, request) < 0)
        {
            LinuxNative.close(fd);
            LinuxNative.Check(-1, $"TUNSETIFF {name}");
        }
        int wake = LinuxNative.eventfd(0, LinuxNative.EFD_NONBLOCK);
        LinuxNative.Check(wake, "eventfd");
        return new TapTestDevice(name, mac, fd, wake);
    }

    public string Name { get; }
    public MacAddress MacAddress { get; }
    public NetworkDeviceCapabilities Capabilities { get; } = new(1500);

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        nint n;
        fixed (byte* buffer = _rx)
        {
            n = LinuxNative.read(_fd, buffer, _rx.Length);
        }
        if (n <= 0)
        {
            return false;
        }
        handler.Handle(_rx.AsSpan(0, (int)n));
        return true;
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Capabilities.MaxFrameLength);
        builder.Build(_tx.AsSpan(0, length));
        fixed (byte* buffer = _tx)
        {
            return LinuxNative.write(_fd, buffer, length) == length;
        }
    }

    public bool WaitForFrame(TimeSpan timeout)
    {
        var fds = stackalloc LinuxNative.PollFd[2];
        fds[0] = new LinuxNative.PollFd { Fd = _fd, Events = LinuxNative.POLLIN };
        fds[1] = new LinuxNative.PollFd { Fd = _wake, Events = LinuxNative.POLLIN };
        int ready = LinuxNative.poll(fds, 2, (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue));
        if (ready > 0 && (fds[1].Revents & LinuxNative.POLLIN) != 0)
        {
            ulong drained;
            LinuxNative.read(_wake, (byte*)&drained, sizeof(ulong));
        }
        return ready > 0 && (fds[0].Revents & LinuxNative.POLLIN) != 0;
    }

    public void Wake()
    {
        ulong one = 1;
        LinuxNative.write(_wake, (byte*)&one, sizeof(ulong));
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            LinuxNative.close(_fd);
            LinuxNative.close(_wake);
        }
    }
}
