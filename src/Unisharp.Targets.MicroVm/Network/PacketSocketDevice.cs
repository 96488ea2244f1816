using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Unisharp.Devices;
using Unisharp.Net;
using Unisharp.Targets.MicroVm.Interop;

namespace Unisharp.Targets.MicroVm.Network;

/// <summary>
/// The guest's network card (virtio-net, <c>eth0</c>) as an Ethernet device, through an AF_PACKET raw socket
/// bound to it: every frame the card receives is read here and every frame written here goes out on the
/// wire unchanged. The guest kernel has no TCP/IP (CONFIG_INET=n), so nothing else answers on the link.
/// </summary>
/// <remarks>
/// Frames arrive through a PACKET_MMAP receive ring (<see cref="PacketReceiveRing"/>) shared with the kernel:
/// lent to the stack in place, with no system call per frame while frames keep coming. TPACKET_V2 is the
/// default: V3's blocks are handed over only when full or at the kernel's next tick, which adds up to 4 ms
/// to every lone frame on our HZ=250 kernel. When the ring cannot be set up the device falls back to one
/// recv per frame and says why in <see cref="RingError"/>. Frames leave with one send each, past the
/// (empty) qdisc layer (PACKET_QDISC_BYPASS).
/// </remarks>
public sealed unsafe class PacketSocketDevice : INetworkDevice
{
    private readonly int _fd;
    private readonly int _wakeFd;
    private readonly PacketReceiveRing? _ring;
    private readonly byte* _rxBuffer;
    private readonly byte* _txBuffer;
    private readonly int _bufferLength;
    private int _disposed;

    /// <summary>The receive ring's blocks.</summary>
    public const int RingBlockSize = 64 * 1024;

    public const int RingBlockCount = 16;

    /// <summary>The receive path unless told otherwise.</summary>
    public const PacketReceiveMode DefaultReceiveMode = PacketReceiveMode.RingV2;

    private PacketSocketDevice(string name, int fd, int wakeFd, MacAddress mac, int mtu, PacketReceiveRing? ring, string? ringError)
    {
        Name = name;
        _fd = fd;
        _wakeFd = wakeFd;
        _ring = ring;
        RingError = ringError;
        MacAddress = mac;
        Capabilities = new NetworkDeviceCapabilities(mtu);
        _bufferLength = Capabilities.MaxFrameLength;
        _rxBuffer = (byte*)NativeMemory.AlignedAlloc((nuint)_bufferLength, 64);
        _txBuffer = (byte*)NativeMemory.AlignedAlloc((nuint)_bufferLength, 64);
    }

    public string Name { get; }

    /// <summary>The card's own MAC address (QEMU's <c>mac=</c>, Firecracker's <c>guest_mac</c>).</summary>
    public MacAddress MacAddress { get; }

    public NetworkDeviceCapabilities Capabilities { get; }

    /// <summary>How frames are received, for logs: the ring's shape, or plain recv.</summary>
    public string ReceivePath => _ring is { } ring
        ? $"TPACKET_V{ring.Version + 1} ring, {ring.BlockCount} blocks of {ring.BlockSize / 1024} KiB"
        : "recv, one frame per call";

    /// <summary>Why the receive ring could not be set up, or null when it was (or was not asked for).</summary>
    public string? RingError { get; }

    /// <summary>Frames dropped because the kernel's queue was full.</summary>
    public long TransmitDrops { get; private set; }

    /// <summary>Brings interface <paramref name="name"/> up and binds a raw socket to it.</summary>
    /// <param name="name">The interface, such as <c>eth0</c>.</param>
    /// <param name="mode">Receive through a ring (falling back to recv if the kernel refuses it) or with recv.</param>
    /// <exception cref="IOException">No such interface, or the kernel lacks AF_PACKET.</exception>
    public static PacketSocketDevice Open(string name, PacketReceiveMode mode = DefaultReceiveMode)
    {
        // ETH_P_ALL in network byte order: every protocol, as the frames arrive.
        ushort protocol = BinaryPrimitives.ReverseEndianness(Libc.ETH_P_ALL);
        int fd = Libc.Socket(Libc.AF_PACKET, Libc.SOCK_RAW | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, protocol);
        if (fd < 0)
        {
            throw Libc.LastError("socket(AF_PACKET, SOCK_RAW) (is CONFIG_PACKET in the guest kernel?)");
        }
        int wakeFd = -1;
        PacketReceiveRing? ring = null;
        try
        {
            // The interface ioctls go through the same socket: there is no other socket family without INET.
            var request = IfReq.Named(name);
            if (Libc.Ioctl(fd, IfReq.SIOCGIFFLAGS, &request) < 0)
            {
                throw Libc.LastError($"no network interface '{name}' (is a virtio-net device attached?)");
            }
            if ((request.Flags & IfReq.IFF_UP) == 0)
            {
                request.Flags |= IfReq.IFF_UP;
                if (Libc.Ioctl(fd, IfReq.SIOCSIFFLAGS, &request) < 0)
                {
                    throw Libc.LastError($"cannot bring '{name}' up");
                }
            }
            request = IfReq.Named(name);
            if (Libc.Ioctl(fd, IfReq.SIOCGIFINDEX, &request) < 0)
            {
                throw Libc.LastError($"cannot read the index of '{name}'");
            }
            int index = request.IntValue;
            request = IfReq.Named(name);
            if (Libc.Ioctl(fd, IfReq.SIOCGIFMTU, &request) < 0)
            {
                throw Libc.LastError($"cannot read the MTU of '{name}'");
            }
            int mtu = request.IntValue;
            request = IfReq.Named(name);
            if (Libc.Ioctl(fd, IfReq.SIOCGIFHWADDR, &request) < 0)
            {
                throw Libc.LastError($"cannot read the MAC address of '{name}'");
            }
            var mac = MacAddress.Read(new ReadOnlySpan<byte>(request.HwAddrData, MacAddress.Length));

            // Our own transmissions would otherwise come back to us as PACKET_OUTGOING (Linux 4.20+).
            int one = 1;
            if (Libc.SetSockOpt(fd, Libc.SOL_PACKET, Libc.PACKET_IGNORE_OUTGOING, &one, sizeof(int)) < 0)
            {
                throw Libc.LastError("setsockopt(PACKET_IGNORE_OUTGOING)");
            }
            // Our frames go straight to the driver: the guest has no traffic control to apply (and
            // bypassing also skips the copy to packet taps that PACKET_IGNORE_OUTGOING would discard).
            // Only an optimization: kernels without it still send.
            Libc.SetSockOpt(fd, Libc.SOL_PACKET, PacketMmap.PACKET_QDISC_BYPASS, &one, sizeof(int));
            string? ringError = null;
            if (mode != PacketReceiveMode.Recv)
            {
                // Before bind, so that no frame waits in the socket's ordinary queue where the ring never looks.
                try
                {
                    ring = PacketReceiveRing.Create(fd, mode == PacketReceiveMode.RingV3 ? PacketMmap.TPACKET_V3 : PacketMmap.TPACKET_V2, RingBlockSize, RingBlockCount, frameSize: 2048);
                }
                catch (IOException e)
                {
                    ringError = e.Message;
                }
            }
            var address = new Libc.SockaddrLl { Family = Libc.AF_PACKET, Protocol = protocol, IfIndex = index };
            if (Libc.Bind(fd, &address, (uint)sizeof(Libc.SockaddrLl)) < 0)
            {
                throw Libc.LastError($"cannot bind to '{name}'");
            }
            wakeFd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            if (wakeFd < 0)
            {
                throw Libc.LastError("eventfd");
            }
            return new PacketSocketDevice(name, fd, wakeFd, mac, mtu, ring, ringError);
        }
        catch
        {
            ring?.Dispose();
            Libc.Close(fd);
            if (wakeFd >= 0)
            {
                Libc.Close(wakeFd);
            }
            throw;
        }
    }

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_ring is not null)
        {
            return _ring.TryReceive(ref handler);
        }
        while (true)
        {
            nint n = Libc.Recv(_fd, _rxBuffer, (nuint)_bufferLength, Libc.MSG_DONTWAIT);
            if (n > 0)
            {
                handler.Handle(new Span<byte>(_rxBuffer, (int)n));
                return true;
            }
            int errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (errno == Libc.EINTR)
            {
                continue;
            }
            if (n == 0 || errno == Libc.EAGAIN)
            {
                return false;
            }
            throw Libc.LastError($"recv on '{Name}'");
        }
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _bufferLength);
        builder.Build(new Span<byte>(_txBuffer, length));
        while (true)
        {
            if (Libc.Send(_fd, _txBuffer, (nuint)length, Libc.MSG_DONTWAIT) >= 0)
            {
                return true;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EINTR)
            {
                continue;
            }
            // A full queue drops the frame, as a full transmit ring would; the protocols above retransmit.
            if (errno is Libc.EAGAIN or Libc.ENOBUFS)
            {
                TransmitDrops++;
                return true;
            }
            throw Libc.LastError($"send on '{Name}'");
        }
    }

    public bool WaitForFrame(TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_ring is { HasFrame: true })
        {
            return true;
        }
        var fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = _fd, Events = Libc.POLLIN };
        fds[1] = new Libc.PollFd { Fd = _wakeFd, Events = Libc.POLLIN };
        int ms = timeout <= TimeSpan.Zero ? 0 : timeout >= TimeSpan.FromDays(1) ? -1 : (int)Math.Ceiling(timeout.TotalMilliseconds);
        if (Libc.Poll(fds, 2, ms) < 0)
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

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _ring?.Dispose();
        Libc.Close(_fd);
        Libc.Close(_wakeFd);
        NativeMemory.AlignedFree(_rxBuffer);
        NativeMemory.AlignedFree(_txBuffer);
    }
}
