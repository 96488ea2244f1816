using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Unisharp.Devices;
using Unisharp.Linux.Network;
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
/// to every lone frame on our HZ=250 kernel. V2's slots hold frames up to the MTU; a larger one (a joined segment)
/// is cut short in its slot, marked TP_STATUS_COPY, and read whole from the socket's queue (PACKET_COPY_THRESH).
/// When the ring cannot be set up the device falls back to one recv per frame and says why in
/// <see cref="RingError"/>. Frames leave with one send each, past the (empty) qdisc layer (PACKET_QDISC_BYPASS).
/// <para>
/// Every frame in and out carries a <c>virtio_net_hdr</c> (PACKET_VNET_HDR), as on a TAP with IFF_VNET_HDR: virtio-net
/// cards (QEMU with <c>vnet_hdr</c>, always Firecracker) hand the guest TCP and UDP frames whose checksum the host
/// left partial, and up to 64 KiB TCP segments the host never cut (the card's <c>rx-gro-hw</c>). With offload (the
/// default) that metadata goes to the stack, which trusts such checksums, and the stack's own partial checksums and
/// large TCP segments go to the card to finish and cut, when the card can (<c>tx-tcp-segmentation</c>: the guest
/// kernel, built without TCP/IP, cannot cut segments in software). Without offload the device finishes partial
/// checksums itself, turns the card's large receive off where the card lets it (QEMU's virtio-net does, through its
/// control queue; on a card without one the feature is fixed on and large segments are dropped) and sends plain frames.
/// The card's offloads are read (and large receive turned off) through the ethtool ioctl, by feature name.
/// </para>
/// </remarks>
public sealed unsafe class PacketSocketDevice : INetworkDevice
{
    private readonly int _fd;
    private readonly int _wakeFd;
    private readonly PacketReceiveRing? _ring;
    private readonly byte* _rxBuffer;
    private readonly byte* _txBuffer;
    private readonly int _bufferLength;
    private readonly int _rxBufferLength;
    private readonly bool _offload;
    private const int HeaderLength = VirtioNetHeader.Length;
    private const int EthernetHeaderLength = 14;
    private int _disposed;

    /// <summary>The receive ring's blocks for frames up to the MTU.</summary>
    public const int RingBlockSize = 64 * 1024;

    public const int RingBlockCount = 16;

    /// <summary>
    /// TPACKET_V3's blocks when frames up to 64 KiB can arrive (large receive): a block holds any frame. V2 keeps its
    /// small slots and takes a larger frame through the socket's queue instead (PACKET_COPY_THRESH).
    /// </summary>
    public const int LargeRingBlockSize = 128 * 1024;

    /// <summary>How much the socket's queue holds of frames too large for a V2 slot (SO_RCVBUFFORCE).</summary>
    public const int LargeFrameQueueBytes = 4 << 20;

    /// <summary>The receive path unless told otherwise.</summary>
    public const PacketReceiveMode DefaultReceiveMode = PacketReceiveMode.RingV2;

    private PacketSocketDevice(string name, int fd, int wakeFd, MacAddress mac, NetworkDeviceCapabilities capabilities, bool offload,
        int largestFrame, PacketReceiveRing? ring, string? ringError, string offloadSummary)
    {
        Name = name;
        _fd = fd;
        _wakeFd = wakeFd;
        _ring = ring;
        _offload = offload;
        RingError = ringError;
        MacAddress = mac;
        Capabilities = capabilities;
        OffloadSummary = offloadSummary;
        _bufferLength = capabilities.MaxFrameLength;
        // Received frames may be larger than ours when the card joins segments the stack cannot take: read them whole to drop them.
        _rxBufferLength = HeaderLength + Math.Max(_bufferLength, largestFrame);
        _rxBuffer = (byte*)NativeMemory.AlignedAlloc((nuint)_rxBufferLength, 64);
        _txBuffer = (byte*)NativeMemory.AlignedAlloc((nuint)(HeaderLength + _bufferLength), 64);
    }

    public string Name { get; }

    /// <summary>The card's own MAC address (QEMU's <c>mac=</c>, Firecracker's <c>guest_mac</c>).</summary>
    public MacAddress MacAddress { get; }

    public NetworkDeviceCapabilities Capabilities { get; }

    /// <summary>How frames are received, for logs: the ring's shape, or plain recv; then the offloads.</summary>
    public string ReceivePath => (_ring is { } ring
        ? $"TPACKET_V{ring.Version + 1} ring, {ring.BlockCount} blocks of {ring.BlockSize / 1024} KiB"
        : "recv, one frame per call") + "; " + OffloadSummary;

    /// <summary>What is offloaded and what the card offers, for logs.</summary>
    public string OffloadSummary { get; }

    /// <summary>Whether offload was asked for (the card may still offer no segmentation: see <see cref="Capabilities"/>).</summary>
    public bool Offload => _offload;

    /// <summary>Received frames over the MTU: segments the card joined or the host never cut.</summary>
    public long LargeFramesReceived { get; private set; }

    /// <summary>Transmitted frames over the MTU, for the card to cut.</summary>
    public long LargeFramesSent { get; private set; }

    /// <summary>Received frames with a partial checksum (counted with or without offload).</summary>
    public long PartialChecksumsReceived { get; private set; }

    /// <summary>Received frames dropped: cut short by the ring, larger than the stack takes, or with bad offload metadata.</summary>
    public long ReceiveDrops { get; private set; }

    /// <summary>Why the receive ring could not be set up, or null when it was (or was not asked for).</summary>
    public string? RingError { get; }

    /// <summary>Frames dropped because the kernel's queue was full.</summary>
    public long TransmitDrops { get; private set; }

    /// <summary>Brings interface <paramref name="name"/> up and binds a raw socket to it.</summary>
    /// <param name="name">The interface, such as <c>eth0</c>.</param>
    /// <param name="mode">Receive through a ring (falling back to recv if the kernel refuses it) or with recv.</param>
    /// <param name="offload">Hand the stack the card's checksum and segmentation offload (see the remarks).</param>
    /// <exception cref="IOException">No such interface, or the kernel lacks AF_PACKET.</exception>
    public static PacketSocketDevice Open(string name, PacketReceiveMode mode = DefaultReceiveMode, bool offload = true)
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
                throw Libc.LastError($"no network interface '{name}' in the guest (the VM needs a network card: " +
                    "'unisharp run --net tap:NAME', 'launch.sh --net tap:NAME', or network-interfaces in firecracker.json)");
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

            var (capabilities, largeReceive, summary) = NegotiateOffload(fd, name, mtu, offload);
            // Received frames reach their full size: a joined segment, or any frame while the card's features are unknown.
            int largestFrame = largeReceive ? NetworkDeviceCapabilities.MaxOffloadPacketLength + NetworkDeviceCapabilities.EthernetOverhead : capabilities.MaxFrameLength;

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
            // Before the ring, which the kernel lays out with room for the header (it refuses the option afterwards).
            if (Libc.SetSockOpt(fd, Libc.SOL_PACKET, PacketMmap.PACKET_VNET_HDR, &one, sizeof(int)) < 0)
            {
                throw Libc.LastError("setsockopt(PACKET_VNET_HDR)");
            }
            if (largeReceive && mode != PacketReceiveMode.RingV3)
            {
                // Large frames wait in the socket's queue (with recv, or too large for a V2 slot): room for dozens of
                // 64 KiB segments. Only root may go past net.core.rmem_max; otherwise the default holds a few.
                int queueBytes = LargeFrameQueueBytes;
                Libc.SetSockOpt(fd, PacketMmap.SOL_SOCKET, PacketMmap.SO_RCVBUFFORCE, &queueBytes, sizeof(int));
            }
            string? ringError = null;
            if (mode != PacketReceiveMode.Recv)
            {
                // Before bind, so that no frame waits in the socket's ordinary queue where the ring never looks.
                try
                {
                    // A V2 slot holds the frame header (tpacket2_hdr, sockaddr_ll: under 128 bytes), the virtio_net_hdr and a
                    // frame up to the MTU; the few larger ones (joined segments) come whole through the socket's queue.
                    int frameSize = Math.Max(2048, (128 + HeaderLength + NetworkDeviceCapabilities.EthernetOverhead + mtu + 15) & ~15);
                    int blockSize = Math.Max(largeReceive && mode == PacketReceiveMode.RingV3 ? LargeRingBlockSize : RingBlockSize, (frameSize + 4095) & ~4095);
                    if (largeReceive && mode == PacketReceiveMode.RingV2)
                    {
                        Libc.SetSockOpt(fd, Libc.SOL_PACKET, PacketMmap.PACKET_COPY_THRESH, &one, sizeof(int));
                    }
                    ring = PacketReceiveRing.Create(fd, mode == PacketReceiveMode.RingV3 ? PacketMmap.TPACKET_V3 : PacketMmap.TPACKET_V2, blockSize, RingBlockCount, frameSize);
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
            return new PacketSocketDevice(name, fd, wakeFd, mac, capabilities, offload, largestFrame, ring, ringError, summary);
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

    /// <summary>
    /// Reads the card's offload features and settles ours: checksum offload always with <paramref name="offload"/> (the
    /// guest kernel completes a checksum in software if the card cannot), segmentation only when the card cuts TCP
    /// segments itself. The card's large receive is turned off when the stack could not take its segments.
    /// </summary>
    private static (NetworkDeviceCapabilities Capabilities, bool LargeReceive, string Summary) NegotiateOffload(int fd, string name, int mtu, bool offload)
    {
        Ethtool features;
        try
        {
            features = Ethtool.Read(fd, name);
        }
        catch (IOException e)
        {
            // Without the card's features: no segmentation on our side, and room for any frame the card may join.
            return (new NetworkDeviceCapabilities(mtu, ChecksumOffload: offload), true, $"offload: {(offload ? "checksum" : "off")} (card features unknown: {e.Message})");
        }
        bool segmentation = offload && features.IsActive(Ethtool.TxTcpSegmentation);
        string turnedOff = "";
        if (!segmentation && features.IsActive(Ethtool.RxGroHw))
        {
            turnedOff = features.TrySet(Ethtool.RxGroHw, on: false) ? $", {Ethtool.RxGroHw} turned off" : $", {Ethtool.RxGroHw} stays on (large segments are dropped)";
        }
        bool largeReceive = features.IsActive(Ethtool.RxGroHw) || segmentation;
        string ours = !offload ? "off" : segmentation ? "checksum, TCP segmentation" : "checksum";
        string card = string.Join(", ", features.ActiveFeatures.Where(f => f is Ethtool.TxChecksum or Ethtool.TxTcpSegmentation or Ethtool.RxGroHw or Ethtool.RxChecksum));
        return (new NetworkDeviceCapabilities(mtu, ChecksumOffload: offload, SegmentationOffload: segmentation), largeReceive,
            $"offload: {ours} (card: {(card.Length > 0 ? card : "none")}{turnedOff})");
    }

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_ring is not null)
        {
            while (_ring.TryTake(HeaderLength, out var packet, out int wireLength, out bool queued))
            {
                if (queued)
                {
                    // The slot has the frame's start only; the whole frame is next in the socket's queue.
                    _ring.Release();
                    if (ReceiveQueued(ref handler, out bool delivered) && delivered)
                    {
                        return true;
                    }
                    continue;
                }
                try
                {
                    if (Deliver(packet, wireLength, ref handler))
                    {
                        return true;
                    }
                }
                finally
                {
                    _ring.Release();
                }
            }
            return false;
        }
        while (ReceiveQueued(ref handler, out bool delivered))
        {
            if (delivered)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Reads one frame from the socket's queue (with recv) and hands it over; false when the queue is empty,
    /// <paramref name="delivered"/> false when the frame was dropped.
    /// </summary>
    private bool ReceiveQueued<THandler>(ref THandler handler, out bool delivered) where THandler : IFrameHandler, allows ref struct
    {
        delivered = false;
        while (true)
        {
            // MSG_TRUNC: the frame's real length, to tell a frame cut to the buffer.
            nint n = Libc.Recv(_fd, _rxBuffer, (nuint)_rxBufferLength, Libc.MSG_DONTWAIT | Libc.MSG_TRUNC);
            if (n > HeaderLength)
            {
                int length = (int)Math.Min(n, _rxBufferLength);
                delivered = Deliver(new Span<byte>(_rxBuffer, length), (int)n - HeaderLength, ref handler);
                return true;
            }
            if (n > 0)
            {
                continue;
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

    /// <summary>
    /// Hands one received frame (after its <c>virtio_net_hdr</c> in <paramref name="packet"/>) to the handler: with its
    /// offload metadata, or, without offload, with its partial checksum completed. False when it is dropped.
    /// </summary>
    private bool Deliver<THandler>(Span<byte> packet, int wireLength, ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        var frame = packet[HeaderLength..];
        if (frame.Length < wireLength || frame.Length > _bufferLength || frame.Length < EthernetHeaderLength)
        {
            ReceiveDrops++;
            return false;
        }
        var offload = VirtioNetHeader.Read(packet);
        if (offload.IsNone)
        {
            handler.Handle(frame);
            return true;
        }
        if (offload.Checksum == FrameChecksum.Partial)
        {
            PartialChecksumsReceived++;
        }
        if (frame.Length > Capabilities.Mtu + EthernetHeaderLength)
        {
            LargeFramesReceived++;
        }
        if (_offload)
        {
            handler.Handle(frame, offload);
            return true;
        }
        if (offload.SegmentSize > 0 || (offload.Checksum == FrameChecksum.Partial && !PartialChecksum.Complete(frame, offload)))
        {
            ReceiveDrops++;
            return false;
        }
        // A checksum the card verified is verified again by the stack: without offload it sees plain frames only.
        handler.Handle(frame);
        return true;
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct =>
        TryTransmit(length, default(FrameOffload), ref builder);

    public bool TryTransmit<TBuilder>(int length, in FrameOffload offload, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _bufferLength);
        if (!offload.IsNone && !Capabilities.ChecksumOffload)
        {
            throw new NotSupportedException($"'{Name}' was opened without offload");
        }
        var frame = new Span<byte>(_txBuffer + HeaderLength, length);
        builder.Build(frame);
        VirtioNetHeader.Write(new Span<byte>(_txBuffer, HeaderLength), offload, frame);
        if (length > Capabilities.Mtu + EthernetHeaderLength)
        {
            LargeFramesSent++;
        }
        while (true)
        {
            if (Libc.Send(_fd, _txBuffer, (nuint)(HeaderLength + length), Libc.MSG_DONTWAIT) >= 0)
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
        return _ring is { HasFrame: true } || FrameWait.Wait(_fd, _wakeFd, timeout);
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
