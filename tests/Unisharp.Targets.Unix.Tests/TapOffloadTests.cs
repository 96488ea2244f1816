using System.Buffers.Binary;
using System.Diagnostics;
using Unisharp.Devices;
using Unisharp.Net;
using Unisharp.Targets.Unix.Network;
using Unisharp.Testing;

namespace Unisharp.Targets.Unix.Tests;

/// <summary>The TAP device's virtio-net header against Linux: what the kernel tells us about the checksums it skipped.</summary>
public sealed class TapOffloadTests
{
    private static readonly MacAddress s_ourMac = MacAddress.Parse("02:00:00:00:00:01");

    private struct UdpCatcher : IFrameHandler
    {
        public FrameOffload? Offload;
        public ushort Checksum;

        public void Handle(Span<byte> frame) => Handle(frame, default);

        public void Handle(Span<byte> frame, in FrameOffload offload)
        {
            // IPv4 (0x0800), protocol UDP (17), destination port 9.
            if (frame.Length >= 42 && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == 0x0800 && frame[23] == 17
                && BinaryPrimitives.ReadUInt16BigEndian(frame[36..]) == 9)
            {
                Offload = offload;
                Checksum = BinaryPrimitives.ReadUInt16BigEndian(frame[40..]);
            }
        }
    }

    /// <summary>Linux sends a UDP datagram to our address over the TAP; returns the frame's metadata and checksum field.</summary>
    private static (FrameOffload Offload, ushort Checksum) UdpFromLinux(bool offload)
    {
        using var ns = NetworkNamespace.Create();
        using var tap = ns.Inside(() => TapDevice.Open("ustap0", s_ourMac, offload));
        ns.Exec("ip", "addr", "add", "198.18.7.1/24", "dev", "ustap0").EnsureSuccess("ip addr add");
        ns.Exec("ip", "neigh", "add", "198.18.7.2", "lladdr", s_ourMac.ToString(), "dev", "ustap0").EnsureSuccess("ip neigh add");
        ns.Exec("sh", "-c", "echo offload | nc -u -w 1 198.18.7.2 9").EnsureSuccess("nc -u");

        var catcher = new UdpCatcher();
        var deadline = Stopwatch.StartNew();
        while (catcher.Offload is null && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            tap.WaitForFrame(TimeSpan.FromMilliseconds(200));
            while (catcher.Offload is null && tap.TryReceive(ref catcher))
            {
            }
        }
        Assert.NotNull(catcher.Offload);
        return (catcher.Offload.Value, catcher.Checksum);
    }

    [RequiresNamespacesFact]
    public void Open_WithOffload_ReportsChecksumAndSegmentationOffload()
    {
        using var ns = NetworkNamespace.Create();
        using var on = ns.Inside(() => TapDevice.Open("ustap0", s_ourMac));
        using var off = ns.Inside(() => TapDevice.Open("ustap1", s_ourMac, offload: false));

        Assert.True(on.Capabilities.ChecksumOffload);
        Assert.True(on.Capabilities.SegmentationOffload);
        Assert.True(on.Capabilities.MaxFrameLength > 65535);
        Assert.False(off.Capabilities.ChecksumOffload);
        Assert.Equal(1518, off.Capabilities.MaxFrameLength);
    }

    [RequiresNamespacesFact]
    public void TryReceive_UdpFromLinuxWithOffload_PartialChecksumFlagged()
    {
        var (offload, _) = UdpFromLinux(offload: true);

        Assert.Equal(FrameChecksum.Partial, offload.Checksum);
        Assert.Equal(14 + 20, offload.ChecksumStart);
        Assert.Equal(6, offload.ChecksumOffset);
        Assert.Equal(0, offload.SegmentSize);
    }

    [RequiresNamespacesFact]
    public void TryReceive_UdpFromLinuxWithoutOffload_PlainFrameWithFullChecksum()
    {
        var (offload, checksum) = UdpFromLinux(offload: false);

        Assert.True(offload.IsNone);
        Assert.NotEqual(0, checksum);
    }
}
