using System.Runtime.InteropServices;
using Unisharp.Devices;
using Unisharp.Net;
using Unisharp.Targets.Unix.Interop;

namespace Unisharp.Targets.Unix.Network;

/// <summary>
/// A Linux TAP interface as the unikernel's Ethernet device: frames written here arrive on the host's
/// side of the interface, and frames the host sends there are read here. Opened through
/// <c>/dev/net/tun</c> by name; the interface is created (and brought up) when it does not exist.
/// </summary>
/// <remarks>
/// Our stack has its own MAC address, distinct from the host side's. A write the kernel cannot take
/// (its queue is full) drops that frame, as a full transmit ring would; TCP recovers.
/// </remarks>
public sealed unsafe class TapDevice : INetworkDevice
{
    private readonly int _fd;
    private readonly int _wakeFd;
    private readonly byte* _rxBuffer;
    private readonly byte* _txBuffer;
    private readonly int _bufferLength;
    private int _disposed;

    private TapDevice(string name, int fd, int wakeFd, MacAddress mac, int mtu)
    {
        Name = name;
        _fd = fd;
        _wakeFd = wakeFd;
        MacAddress = mac;
        Capabilities = new NetworkDeviceCapabilities(mtu);
        _bufferLength = Capabilities.MaxFrameLength;
        _rxBuffer = (byte*)NativeMemory.AlignedAlloc((nuint)_bufferLength, 64);
        _txBuffer = (byte*)NativeMemory.AlignedAlloc((nuint)_bufferLength, 64);
    }

    public string Name { get; }

    public MacAddress MacAddress { get; }

    public NetworkDeviceCapabilities Capabilities { get; }

    /// <summary>Frames dropped because the kernel would not take them.</summary>
    public long TransmitDrops { get; private set; }

    /// <summary>Opens (creating if needed) the TAP interface <paramref name="name"/> in the current network namespace.</summary>
    /// <param name="mac">Our stack's MAC address on the link.</param>
    /// <exception cref="IOException">No /dev/net/tun, no permission (CAP_NET_ADMIN) or a name taken by a non-TAP interface.</exception>
    public static TapDevice Open(string name, MacAddress mac)
    {
        var request = InterfaceRequest.For(name);
        int fd = Libc.Open("/dev/net/tun", Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw Libc.LastError("cannot open /dev/net/tun (is the tun module loaded?)");
        }
        int wakeFd = -1;
        try
        {
            request.Flags = InterfaceRequest.IFF_TAP | InterfaceRequest.IFF_NO_PI;
            if (Libc.Ioctl(fd, InterfaceRequest.TUNSETIFF, &request) < 0)
            {
                throw Libc.LastError($"cannot attach to TAP interface '{name}' (creating one needs root or CAP_NET_ADMIN; an existing '{name}' must be a TAP device)");
            }
            int mtu = BringUp(name);
            wakeFd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            if (wakeFd < 0)
            {
                throw Libc.LastError("eventfd");
            }
            return new TapDevice(name, fd, wakeFd, mac, mtu);
        }
        catch
        {
            Libc.Close(fd);
            if (wakeFd >= 0)
            {
                Libc.Close(wakeFd);
            }
            throw;
        }
    }

    /// <summary>Sets the interface up (as <c>ip link set NAME up</c>) and returns its MTU.</summary>
    private static int BringUp(string name)
    {
        // Any socket can carry interface ioctls; AF_PACKET exists even in a kernel without TCP/IP.
        int sock = Libc.Socket(Libc.AF_PACKET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (sock < 0)
        {
            throw Libc.LastError("socket(AF_PACKET)");
        }
        try
        {
            var request = InterfaceRequest.For(name);
            if (Libc.Ioctl(sock, InterfaceRequest.SIOCGIFFLAGS, &request) < 0)
            {
                throw Libc.LastError($"cannot read the flags of '{name}'");
            }
            if ((request.Flags & InterfaceRequest.IFF_UP) == 0)
            {
                request.Flags |= InterfaceRequest.IFF_UP;
                if (Libc.Ioctl(sock, InterfaceRequest.SIOCSIFFLAGS, &request) < 0)
                {
                    throw Libc.LastError($"cannot bring '{name}' up");
                }
            }
            request = InterfaceRequest.For(name);
            if (Libc.Ioctl(sock, InterfaceRequest.SIOCGIFMTU, &request) < 0)
            {
                throw Libc.LastError($"cannot read the MTU of '{name}'");
            }
            return request.Value;
        }
        finally
        {
            Libc.Close(sock);
        }
    }

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        ThrowIfDisposed();
        while (true)
        {
            nint n = Libc.Read(_fd, _rxBuffer, (nuint)_bufferLength);
            if (n > 0)
            {
                handler.Handle(new Span<byte>(_rxBuffer, (int)n));
                return true;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (n < 0 && errno == Libc.EINTR)
            {
                continue;
            }
            if (n == 0 || errno == Libc.EAGAIN)
            {
                return false;
            }
            throw Libc.LastError($"read from TAP '{Name}'");
        }
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _bufferLength);
        builder.Build(new Span<byte>(_txBuffer, length));
        while (true)
        {
            nint n = Libc.Write(_fd, _txBuffer, (nuint)length);
            if (n >= 0)
            {
                return true;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EINTR)
            {
                continue;
            }
            if (errno is Libc.EAGAIN or Libc.ENOBUFS)
            {
                TransmitDrops++;
                return true;
            }
            throw Libc.LastError($"write to TAP '{Name}'");
        }
    }

    public bool WaitForFrame(TimeSpan timeout)
    {
        ThrowIfDisposed();
        var fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = _fd, Events = Libc.POLLIN };
        fds[1] = new Libc.PollFd { Fd = _wakeFd, Events = Libc.POLLIN };
        int ms = timeout <= TimeSpan.Zero ? 0 : timeout >= TimeSpan.FromDays(1) ? -1 : (int)Math.Ceiling(timeout.TotalMilliseconds);
        int ready = Libc.Poll(fds, 2, ms);
        if (ready < 0)
        {
            return Marshal.GetLastPInvokeError() == Libc.EINTR ? false : throw Libc.LastError("poll");
        }
        if ((fds[1].Revents & Libc.POLLIN) != 0)
        {
            ulong counter;
            Libc.Read(_wakeFd, (byte*)&counter, sizeof(ulong));
        }
        return (fds[0].Revents & Libc.POLLIN) != 0;
    }

    public void Wake()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            ulong one = 1;
            Libc.Write(_wakeFd, (byte*)&one, sizeof(ulong));
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Libc.Close(_fd);
            Libc.Close(_wakeFd);
            NativeMemory.AlignedFree(_rxBuffer);
            NativeMemory.AlignedFree(_txBuffer);
        }
    }
}
