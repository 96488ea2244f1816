using System.Runtime.InteropServices;
using Unisharp.Devices;
using Unisharp.Linux.Network;
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
/// With offload (the default), every frame is preceded by a <c>virtio_net_hdr</c> (IFF_VNET_HDR) and the kernel
/// is told we take partial checksums and TCP/IPv4 segments up to 64 KiB (TUNSETOFFLOAD): the host's TCP then
/// sends us large segments it never checksums, and cuts and checksums the large segments we send.
/// </remarks>
public sealed unsafe class TapDevice : INetworkDevice
{
    private readonly int _fd;
    private readonly int _wakeFd;
    private readonly byte* _rxBuffer;
    private readonly byte* _txBuffer;
    private const int EthernetHeaderLength = 14;
    private readonly int _bufferLength;
    /// <summary>Bytes of <c>virtio_net_hdr</c> before each frame: 0 without offload.</summary>
    private readonly int _headerLength;
    private int _disposed;

    private TapDevice(string name, int fd, int wakeFd, MacAddress mac, int mtu, bool offload)
    {
        Name = name;
        _fd = fd;
        _wakeFd = wakeFd;
        MacAddress = mac;
        Capabilities = new NetworkDeviceCapabilities(mtu, ChecksumOffload: offload, SegmentationOffload: offload);
        _headerLength = offload ? VirtioNetHeader.Length : 0;
        _bufferLength = Capabilities.MaxFrameLength;
        _rxBuffer = (byte*)NativeMemory.AlignedAlloc((nuint)(_headerLength + _bufferLength), 64);
        _txBuffer = (byte*)NativeMemory.AlignedAlloc((nuint)(_headerLength + _bufferLength), 64);
    }

    public string Name { get; }

    public MacAddress MacAddress { get; }

    public NetworkDeviceCapabilities Capabilities { get; }

    /// <summary>Frames dropped because the kernel would not take them.</summary>
    public long TransmitDrops { get; private set; }

    /// <summary>Received frames over the MTU: segments the host joined or never cut (offload only).</summary>
    public long LargeFramesReceived { get; private set; }

    /// <summary>Transmitted frames over the MTU, for the host to cut (offload only).</summary>
    public long LargeFramesSent { get; private set; }

    /// <summary>Opens (creating if needed) the TAP interface <paramref name="name"/> in the current network namespace.</summary>
    /// <param name="mac">Our stack's MAC address on the link.</param>
    /// <param name="offload">Checksum and TCP segmentation offload through <c>virtio_net_hdr</c>.</param>
    /// <exception cref="IOException">No /dev/net/tun, no permission (CAP_NET_ADMIN) or a name taken by a non-TAP interface.</exception>
    public static TapDevice Open(string name, MacAddress mac, bool offload = true)
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
            request.Flags = (short)(InterfaceRequest.IFF_TAP | InterfaceRequest.IFF_NO_PI | (offload ? VirtioNetHeader.IFF_VNET_HDR : 0));
            if (Libc.Ioctl(fd, InterfaceRequest.TUNSETIFF, &request) < 0)
            {
                throw Libc.LastError($"cannot attach to TAP interface '{name}' (creating one needs root or CAP_NET_ADMIN; an existing '{name}' must be a TAP device)");
            }
            if (offload)
            {
                int headerLength = VirtioNetHeader.Length;
                if (Libc.Ioctl(fd, VirtioNetHeader.TUNSETVNETHDRSZ, &headerLength) < 0)
                {
                    throw Libc.LastError($"cannot set the virtio-net header size on '{name}'");
                }
                if (Libc.Ioctl(fd, VirtioNetHeader.TUNSETOFFLOAD, (void*)(nuint)(VirtioNetHeader.TUN_F_CSUM | VirtioNetHeader.TUN_F_TSO4)) < 0)
                {
                    throw Libc.LastError($"cannot turn on checksum and segmentation offload on '{name}'");
                }
            }
            else
            {
                // An interface left by an earlier run with offload keeps it: switch it off.
                Libc.Ioctl(fd, VirtioNetHeader.TUNSETOFFLOAD, (void*)0);
            }
            int mtu = BringUp(name);
            wakeFd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            if (wakeFd < 0)
            {
                throw Libc.LastError("eventfd");
            }
            return new TapDevice(name, fd, wakeFd, mac, mtu, offload);
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
            nint n = Libc.Read(_fd, _rxBuffer, (nuint)(_headerLength + _bufferLength));
            if (n > _headerLength)
            {
                var frame = new Span<byte>(_rxBuffer + _headerLength, (int)n - _headerLength);
                if (_headerLength == 0)
                {
                    handler.Handle(frame);
                    return true;
                }
                var offload = VirtioNetHeader.Read(new ReadOnlySpan<byte>(_rxBuffer, _headerLength));
                if (frame.Length > Capabilities.Mtu + EthernetHeaderLength)
                {
                    LargeFramesReceived++;
                }
                if (offload.IsNone)
                {
                    handler.Handle(frame);
                }
                else
                {
                    handler.Handle(frame, offload);
                }
                return true;
            }
            if (n > 0)
            {
                // Only a header: nothing to hand over.
                continue;
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

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct =>
        TryTransmit(length, default(FrameOffload), ref builder);

    public bool TryTransmit<TBuilder>(int length, in FrameOffload offload, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _bufferLength);
        if (!offload.IsNone && _headerLength == 0)
        {
            throw new NotSupportedException($"TAP '{Name}' was opened without offload");
        }
        var frame = new Span<byte>(_txBuffer + _headerLength, length);
        builder.Build(frame);
        if (_headerLength > 0)
        {
            VirtioNetHeader.Write(new Span<byte>(_txBuffer, _headerLength), offload, frame);
            if (length > Capabilities.Mtu + EthernetHeaderLength)
            {
                LargeFramesSent++;
            }
        }
        while (true)
        {
            nint n = Libc.Write(_fd, _txBuffer, (nuint)(_headerLength + length));
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
        return FrameWait.Wait(_fd, _wakeFd, timeout);
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
