using System.Buffers.Binary;
using System.Diagnostics;
using Unisharp.Devices;
using Unisharp.Net;
using Unisharp.Targets.MicroVm.Interop;
using Unisharp.Targets.MicroVm.Network;
using Unisharp.Testing;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// The guest's raw-frame device on one end of a veth pair in a namespace made for the test (standing in for the
/// guest's eth0), with a raw socket on the other end as the wire. Frames only, no addresses.
/// </summary>
public sealed class PacketSocketDeviceTests
{
    private static readonly MacAddress s_ourMac = new(0x02_00_00_00_00_0A);
    private static readonly MacAddress s_peerMac = new(0x02_00_00_00_00_0B);

    private static NetworkNamespace CreateLink()
    {
        var ns = NetworkNamespace.Create("usvm");
        try
        {
            ns.Exec("ip", "link", "add", "vm0", "mtu", "1400", "address", s_ourMac.ToString(), "type", "veth",
                "peer", "name", "wire0", "address", s_peerMac.ToString()).EnsureSuccess("add veth");
            // Only the wire's end is brought up here: the device must bring its own end up, as eth0 starts down.
            ns.Exec("ip", "link", "set", "wire0", "up").EnsureSuccess("wire0 up");
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    private static byte[] Frame(MacAddress destination, MacAddress source, byte marker)
    {
        byte[] frame = new byte[60];
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        frame[12] = 0x88; // IEEE 802 local experimental EtherType 0x88B5
        frame[13] = 0xB5;
        frame[14] = marker;
        return frame;
    }

    [RequiresNamespacesFact]
    public void Open_DownInterface_BringsItUpAndReadsMacAndMtu()
    {
        using var ns = CreateLink();
        using var device = ns.Inside(() => PacketSocketDevice.Open("vm0"));

        Assert.Equal(s_ourMac, device.MacAddress);
        Assert.Equal(1400, device.Capabilities.Mtu);
        Assert.Contains("UP", ns.Exec("ip", "link", "show", "vm0").Stdout);
    }

    [RequiresNamespacesFact]
    public void TryTransmit_Frame_ArrivesOnTheWire()
    {
        using var ns = CreateLink();
        using var device = ns.Inside(() => PacketSocketDevice.Open("vm0"));
        using var wire = ns.Inside(() => RawSocket.Open("wire0"));
        byte[] frame = Frame(s_peerMac, s_ourMac, 0x42);

        // The veth carrier comes up a moment after both ends are up: frames before that are dropped, so resend.
        byte[]? seen = null;
        for (int attempt = 0; attempt < 50 && seen is null; attempt++)
        {
            Assert.True(device.TrySend(frame));
            seen = wire.Receive(TimeSpan.FromMilliseconds(200), f => f.Length >= 15 && f[12] == 0x88 && f[13] == 0xB5);
        }
        Assert.NotNull(seen);
        Assert.Equal(frame, seen);
    }

    [RequiresNamespacesFact]
    public void TryReceive_FrameFromTheWire_IsLentToTheHandlerAndOwnFramesAreNot()
    {
        using var ns = CreateLink();
        using var device = ns.Inside(() => PacketSocketDevice.Open("vm0"));
        using var wire = ns.Inside(() => RawSocket.Open("wire0"));
        Assert.True(device.TrySend(Frame(s_peerMac, s_ourMac, 0x01)));
        byte[] frame = Frame(s_ourMac, s_peerMac, 0x02);

        byte[] buffer = new byte[device.Capabilities.MaxFrameLength];
        int length = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            // Resent until it arrives: the veth carrier comes up a moment after both ends are up.
            wire.Send(frame);
            device.WaitForFrame(TimeSpan.FromMilliseconds(200));
            length = device.Receive(buffer);
            // Skip anything the kernel itself sends on a fresh link; our own frame (marker 1) must never come back.
            if (length >= 15 && buffer[12] == 0x88 && buffer[13] == 0xB5)
            {
                break;
            }
        }
        Assert.Equal(frame, buffer[..length]);
    }

    [RequiresNamespacesFact]
    public void WaitForFrame_Woken_ReturnsBeforeTheTimeout()
    {
        using var ns = CreateLink();
        using var device = ns.Inside(() => PacketSocketDevice.Open("vm0"));
        device.Wake();

        var started = DateTime.UtcNow;
        device.WaitForFrame(TimeSpan.FromSeconds(30));

        var waited = DateTime.UtcNow - started;
        Assert.True(waited < TimeSpan.FromSeconds(20), $"waited {waited.TotalSeconds:0.000} s for the wake-up");
    }

    [RequiresNamespacesFact]
    public void Open_VethWithOffload_SegmentationAsTheCardOffersAndNoneWithout()
    {
        using var ns = CreateLink();
        using var on = ns.Inside(() => PacketSocketDevice.Open("vm0"));
        using var off = ns.Inside(() => PacketSocketDevice.Open("wire0", offload: false));

        // veth cuts TCP segments (tx-tcp-segmentation is on by default), so the stack may hand it 64 KiB segments.
        Assert.True(on.Capabilities.ChecksumOffload);
        Assert.True(on.Capabilities.SegmentationOffload);
        Assert.True(on.Capabilities.MaxFrameLength > 65535);
        Assert.Contains("offload: checksum, TCP segmentation (card: ", on.ReceivePath);
        Assert.Contains("tx-tcp-segmentation", on.ReceivePath);
        Assert.False(off.Capabilities.ChecksumOffload);
        Assert.False(off.Capabilities.SegmentationOffload);
        Assert.Contains("offload: off", off.ReceivePath);
    }

    [RequiresNamespacesFact]
    public void Open_CardThatStoppedCuttingSegments_ChecksumOffloadOnly()
    {
        using var ns = CreateLink();
        // As `ethtool -K vm0 tso off`, through our own ethtool calls (the guest has no ethtool program).
        int fd = ns.Inside(() => Libc.Socket(Libc.AF_PACKET, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, 0));
        try
        {
            var features = Ethtool.Read(fd, "vm0");
            Assert.True(features.IsActive(Ethtool.TxTcpSegmentation));
            Assert.True(features.TrySet(Ethtool.TxTcpSegmentation, on: false));
            Assert.False(features.IsActive(Ethtool.TxTcpSegmentation));
            Assert.False(Ethtool.Read(fd, "vm0").IsActive(Ethtool.TxTcpSegmentation));
            Assert.False(features.TrySet("no-such-feature", on: true));
        }
        finally
        {
            Libc.Close(fd);
        }

        using var device = ns.Inside(() => PacketSocketDevice.Open("vm0"));

        Assert.True(device.Capabilities.ChecksumOffload);
        Assert.False(device.Capabilities.SegmentationOffload);
        Assert.Equal(1400 + 18, device.Capabilities.MaxFrameLength);
        Assert.Contains("offload: checksum (card: tx-checksum-ip-generic", device.ReceivePath);
    }

    /// <summary>What a handler saw of the first IPv4 frame of a transport protocol to port 9.</summary>
    private struct TransportCatcher(byte protocol) : IFrameHandler
    {
        public FrameOffload? Offload;
        public byte[]? Frame;

        public void Handle(Span<byte> frame) => Handle(frame, default);

        public void Handle(Span<byte> frame, in FrameOffload offload)
        {
            if (Frame is null && frame.Length >= 38 && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == 0x0800 && frame[23] == protocol
                && BinaryPrimitives.ReadUInt16BigEndian(frame[36..]) == 9)
            {
                Offload = offload;
                Frame = frame.ToArray();
            }
        }
    }

    /// <summary>
    /// Linux, addressed on the wire's end, sends to our address over the veth pair: veth leaves UDP and TCP checksums
    /// partial (its tx-checksumming), as QEMU's and Firecracker's virtio-net do towards a guest.
    /// </summary>
    private static (FrameOffload Offload, byte[] Frame) FromLinux(bool offload, bool tcp)
    {
        using var ns = CreateLink();
        using var device = ns.Inside(() => PacketSocketDevice.Open("vm0", offload: offload));
        ns.Exec("ip", "addr", "add", "198.18.9.1/24", "dev", "wire0").EnsureSuccess("ip addr add");
        ns.Exec("ip", "neigh", "add", "198.18.9.2", "lladdr", s_ourMac.ToString(), "dev", "wire0").EnsureSuccess("ip neigh add");
        var catcher = new TransportCatcher(tcp ? (byte)6 : (byte)17);
        var clock = Stopwatch.StartNew();
        while (catcher.Frame is null && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            // Resent until it arrives: the veth carrier comes up a moment after both ends are up. A TCP connect sends its SYN.
            ns.Exec("sh", "-c", tcp ? "nc -z -w 1 198.18.9.2 9 || true" : "echo offload | nc -u -w 1 198.18.9.2 9").EnsureSuccess("nc");
            while (catcher.Frame is null && device.TryReceive(ref catcher))
            {
            }
        }
        Assert.NotNull(catcher.Frame);
        Assert.Equal(0, device.ReceiveDrops);
        return (catcher.Offload!.Value, catcher.Frame);
    }

    [RequiresNamespacesFact]
    public void TryReceive_UdpFromLinuxWithOffload_PartialChecksumHandedToTheStack() => AssertPartial(tcp: false, checksumOffset: 6);

    [RequiresNamespacesFact]
    public void TryReceive_TcpFromLinuxWithOffload_PartialChecksumHandedToTheStack() => AssertPartial(tcp: true, checksumOffset: 16);

    private static void AssertPartial(bool tcp, int checksumOffset)
    {
        var (offload, _) = FromLinux(offload: true, tcp);

        Assert.Equal(FrameChecksum.Partial, offload.Checksum);
        Assert.Equal(14 + 20, offload.ChecksumStart);
        Assert.Equal(checksumOffset, offload.ChecksumOffset);
        Assert.Equal(0, offload.SegmentSize);
    }

    [RequiresNamespacesFact]
    public void TryReceive_UdpFromLinuxWithoutOffload_PlainFrameWithTheChecksumCompleted() => AssertCompleted(tcp: false);

    [RequiresNamespacesFact]
    public void TryReceive_TcpFromLinuxWithoutOffload_PlainFrameWithTheChecksumCompleted() => AssertCompleted(tcp: true);

    private static void AssertCompleted(bool tcp)
    {
        var (offload, frame) = FromLinux(offload: false, tcp);

        Assert.True(offload.IsNone);
        Assert.True(TransportChecksumVerifies(frame), $"the checksum of {Convert.ToHexString(frame)} does not verify");
    }

    [Fact]
    public void PartialChecksumComplete_OddTcpSegmentWithEthernetPadding_ChecksumVerifiesAndPaddingIsLeftOut()
    {
        // 7 payload bytes: an odd length; then 5 bytes of Ethernet padding the checksum must not cover.
        byte[] segment = LargeTcpSegment(payload: 7);
        byte[] frame = [.. segment, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE];
        var offload = new FrameOffload { Checksum = FrameChecksum.Partial, ChecksumStart = 34, ChecksumOffset = 16 };

        Assert.True(PartialChecksum.Complete(frame, offload));

        Assert.True(TransportChecksumVerifies(frame));
        Assert.Equal(segment.AsSpan(0, 50).ToArray(), frame.AsSpan(0, 50).ToArray());
        Assert.Equal(segment.AsSpan(52).ToArray(), frame.AsSpan(52, segment.Length - 52).ToArray());
    }

    [Fact]
    public void PartialChecksumComplete_OffsetsPastTheIpPacket_FalseAndFrameUnchanged()
    {
        byte[] frame = LargeTcpSegment(payload: 10);
        byte[] before = frame.ToArray();

        Assert.False(PartialChecksum.Complete(frame, new FrameOffload { Checksum = FrameChecksum.Partial, ChecksumStart = 60, ChecksumOffset = 16 }));
        Assert.False(PartialChecksum.Complete(frame, new FrameOffload { Checksum = FrameChecksum.Partial, ChecksumStart = 4, ChecksumOffset = 2 }));
        Assert.Equal(before, frame);
    }

    [Fact]
    public void PartialChecksumComplete_UdpSummingToZero_SentAsAllOnes()
    {
        // A UDP datagram whose pseudo-header and payload fold to 0xFFFF, so its checksum computes to 0: RFC 768
        // sends that as 0xFFFF. Source 198.18.9.2:0 to 198.18.9.1:0, protocol 17, length 10 (twice), payload x.
        byte[] frame = new byte[14 + 20 + 8 + 2];
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        frame[14] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), 30);
        frame[23] = 17;
        byte[] addresses = [198, 18, 9, 2, 198, 18, 9, 1];
        addresses.CopyTo(frame, 26);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(38), 10);
        uint pseudo = 198 * 256 + 18 + 9 * 256 + 2 + 198 * 256 + 18 + 9 * 256 + 1 + 17 + 10;
        ushort partial = Fold(pseudo);
        // The payload word that makes the summed bytes (length field, partial sum, payload) fold to 0xFFFF.
        ushort payload = (ushort)(0xFFFF - Fold(10u + partial));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(40), partial);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(42), payload);

        Assert.True(PartialChecksum.Complete(frame, new FrameOffload { Checksum = FrameChecksum.Partial, ChecksumStart = 34, ChecksumOffset = 6 }));

        Assert.Equal(0xFFFF, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(40)));
        Assert.True(TransportChecksumVerifies(frame));
    }

    /// <summary>RFC 768/9293: the one's-complement sum of the pseudo-header and the segment, checksum included, is all ones.</summary>
    private static bool TransportChecksumVerifies(byte[] frame)
    {
        int ipLength = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(16));
        int headerLength = (frame[14] & 0xF) * 4;
        int segmentLength = ipLength - headerLength;
        uint sum = 0;
        for (int i = 26; i < 34; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(i)); // source and destination addresses
        }
        sum += frame[23];
        sum += (uint)segmentLength;
        int start = 14 + headerLength;
        for (int i = 0; i < segmentLength; i += 2)
        {
            sum += i + 1 < segmentLength ? BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(start + i)) : (uint)frame[start + i] << 8;
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return sum == 0xFFFF;
    }

    [RequiresNamespacesFact]
    public void TryTransmit_LargeTcpSegmentWithOffload_KernelTakesItWhole()
    {
        using var ns = CreateLink();
        using var device = ns.Inside(() => PacketSocketDevice.Open("vm0"));
        using var wire = ns.Inside(() => RawSocket.Open("wire0"));
        byte[] frame = LargeTcpSegment(payload: 20_000);
        var offload = new FrameOffload { Checksum = FrameChecksum.Partial, ChecksumStart = 34, ChecksumOffset = 16, SegmentSize = 1400 - 40 };

        byte[]? seen = null;
        for (int attempt = 0; attempt < 50 && seen is null; attempt++)
        {
            var builder = new CopyBuilder(frame);
            Assert.True(device.TryTransmit(frame.Length, offload, ref builder));
            // veth passes the segment to its peer uncut, as it would to a bridge; a card would cut it.
            seen = wire.Receive(TimeSpan.FromMilliseconds(200), f => f.Length > 1000 && f[23] == 6);
        }

        Assert.NotNull(seen);
        Assert.Equal(frame.Length, seen.Length);
        Assert.Equal(frame.AsSpan(54).ToArray(), seen.AsSpan(54).ToArray());
        Assert.True(device.LargeFramesSent > 0);
        Assert.Equal(0, device.TransmitDrops);
    }

    [RequiresNamespacesFact]
    public void TryTransmit_OffloadFrameWithoutOffload_Throws()
    {
        using var ns = CreateLink();
        using var device = ns.Inside(() => PacketSocketDevice.Open("vm0", offload: false));
        byte[] frame = LargeTcpSegment(payload: 100);

        Assert.Throws<NotSupportedException>(() =>
        {
            var builder = new CopyBuilder(frame);
            return device.TryTransmit(frame.Length, new FrameOffload { Checksum = FrameChecksum.Partial, ChecksumStart = 34, ChecksumOffset = 16 }, ref builder);
        });
    }

    /// <summary>
    /// An IPv4 TCP segment (to <paramref name="destination"/>, from <paramref name="source"/>: by default from us to the
    /// wire) with a partial checksum, the pseudo-header sum in its checksum field; <paramref name="sequence"/> numbers it.
    /// </summary>
    internal static byte[] LargeTcpSegment(int payload, MacAddress? destination = null, MacAddress? source = null, uint sequence = 1000)
    {
        byte[] frame = new byte[14 + 20 + 20 + payload];
        (destination ?? s_peerMac).Write(frame);
        (source ?? s_ourMac).Write(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        frame[14] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), (ushort)(frame.Length - 14));
        frame[20] = 0x40; // don't fragment
        frame[22] = 64;
        frame[23] = 6;
        byte[] from = [198, 18, 9, 2];
        byte[] to = [198, 18, 9, 1];
        from.CopyTo(frame, 26);
        to.CopyTo(frame, 30);
        uint ipSum = 0;
        for (int i = 14; i < 34; i += 2)
        {
            ipSum += BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(i));
        }
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(24), (ushort)~Fold(ipSum));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(34), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(36), 9);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(38), sequence);
        frame[46] = 5 << 4;
        frame[47] = 0x18; // PSH, ACK
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(48), 65535);
        uint pseudo = 198 * 256 + 18 + 9 * 256 + 2 + 198 * 256 + 18 + 9 * 256 + 1 + 6 + (uint)(20 + payload);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(50), Fold(pseudo));
        for (int i = 54; i < frame.Length; i++)
        {
            frame[i] = (byte)(i * 7);
        }
        return frame;
    }

    private static ushort Fold(uint sum)
    {
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)sum;
    }

    internal readonly ref struct CopyBuilder(ReadOnlySpan<byte> source) : IFrameBuilder
    {
        private readonly ReadOnlySpan<byte> _source = source;

        public void Build(Span<byte> frame) => _source.CopyTo(frame);
    }

    [RequiresNamespacesFact]
    public void Open_NoSuchInterface_ThrowsIOException()
    {
        using var ns = NetworkNamespace.Create("usvm");

        var e = Assert.Throws<InvalidOperationException>(() => ns.Inside(() => PacketSocketDevice.Open("eth9")));
        Assert.IsType<IOException>(e.InnerException);
    }
}
