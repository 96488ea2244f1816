using System.Buffers.Binary;
using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Net.Iface;
using Unisharp.Net.Tests.Core;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Fuzz;

/// <summary>
/// Feeds an interface running IPv6 random and mutated IPv6, ICMPv6 and NDP frames (the captured ones, and the echo
/// request behind hop-by-hop, destination options, routing and fragment headers), seeded so a failure reproduces:
/// nothing may throw out of the poll, no frame may hit the internal-error path, the neighbour cache stays within its
/// bound and memory does not grow.
/// </summary>
[Collection(MemoryMeasurement.Name)]
public class Ipv6FrameFuzzTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly byte[][] s_corpus =
    [
        Ipv6Captures.MldReport, Ipv6Captures.DadProbe, Ipv6Captures.RouterSolicitation, Ipv6Captures.RouterAdvertisement,
        Ipv6Captures.NeighborSolicitation, Ipv6Captures.NeighborAdvertisement, Ipv6Captures.EchoRequestLinkLocal,
        Ipv6Captures.EchoReplyLinkLocal, Ipv6Captures.UdpToClosedPort, Ipv6Captures.PortUnreachable,
        WithExtension(Ipv6Captures.EchoRequestLinkLocal, IpProtocol.Ipv6HopByHop, [0, 0, 1, 4, 0, 0, 0, 0]),
        WithExtension(Ipv6Captures.EchoRequestLinkLocal, IpProtocol.Ipv6DestinationOptions, [0, 0, 0x1E, 4, 0, 0, 0, 0]),
        WithExtension(Ipv6Captures.EchoRequestLinkLocal, IpProtocol.Ipv6Routing, [0, 0, 4, 0, 0, 0, 0, 0]),
        WithExtension(Ipv6Captures.EchoRequestLinkLocal, IpProtocol.Ipv6Fragment, [0, 0, 0, 0, 1, 2, 3, 4]),
        WithExtension(Ipv6Captures.EchoRequestLinkLocal, IpProtocol.Ipv6Fragment, [0, 0, 0, 1, 1, 2, 3, 4]),
    ];

    [Fact]
    public void Poll_100000RandomAndMutatedIpv6Frames_NoExceptionAndBoundedMemory()
    {
        const int frames = 100_000;
        var random = new SeededEntropy(6);
        var device = new TestDevice(InterfaceFixture.MacB);
        var options = new NetworkInterfaceOptions { NeighborCacheCapacity = 16 };
        var ip = new IpConfiguration(Ipv4Cidr.Parse("198.18.0.2/24"), null, false, Ipv6Autoconfiguration: true);
        var iface = new NetworkInterface(device, new SeededEntropy(7), InterfaceFixture.QuietLog, ip, Instant.Zero, options);
        var now = Instant.Zero;
        // Let duplicate address detection finish for the link-local address first.
        for (int i = 0; i < 30; i++)
        {
            now += Duration.FromMilliseconds(100);
            iface.Poll(now);
        }
        device.Sent.Clear();
        GC.Collect();
        long memoryBefore = GC.GetTotalMemory(forceFullCollection: true);

        for (int i = 0; i < frames; i++)
        {
            device.Incoming.Enqueue(NextFrame(random));
            now += Duration.FromMicroseconds((long)(random.NextUInt64() % 20_000));
            iface.Poll(now);
            device.Sent.Clear();
            if (i % 500 == 0)
            {
                // Sends that need resolution keep the cache busy with INCOMPLETE entries.
                iface.SendEchoRequest(new Ipv6Address(0xFE80_0000_0000_0000UL, random.NextUInt64() % 64), 1, (ushort)i, "x"u8, now);
            }
            Assert.True(iface.Neighbors!.Count <= options.NeighborCacheCapacity);
            Assert.True(iface.Reassembly6!.InProgress <= options.ReassemblyCapacity);
            Assert.True(iface.Reassembly6.BytesHeld <= options.ReassemblyMaxBytes);
        }

        output.WriteLine(iface.Stats.ToString());
        GC.Collect();
        long memoryAfter = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(0, iface.Stats.Dropped(DropReason.InternalError));
        Assert.Equal(frames, iface.Stats.FramesReceived);
        Assert.True(memoryAfter - memoryBefore < 16 * 1024 * 1024, $"memory grew by {(memoryAfter - memoryBefore) / 1024} KiB");
        // The fuzzer must reach past the first checks, or it tests nothing.
        Assert.True(iface.Stats.EchoRepliesSent > 100, iface.Stats.ToString());
        Assert.True(iface.Stats.NeighborAdvertisementsSent > 100, iface.Stats.ToString());
        Assert.True(iface.Stats.RouterAdvertisementsReceived > 100, iface.Stats.ToString());
    }

    /// <summary><paramref name="frame"/> with an extension header (whose next header becomes the frame's) after its IPv6 header.</summary>
    private static byte[] WithExtension(byte[] frame, IpProtocol type, byte[] header)
    {
        header[0] = frame[20];
        byte[] result = [.. frame.AsSpan(0, 54), .. header, .. frame.AsSpan(54)];
        result[20] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(18), (ushort)(BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(18)) + header.Length));
        return result;
    }

    private static byte[] NextFrame(SeededEntropy random)
    {
        double kind = random.NextDouble();
        if (kind < 0.1)
        {
            byte[] noise = new byte[(int)(random.NextUInt64() % 1600)];
            random.Fill(noise);
            if (noise.Length >= 14)
            {
                InterfaceFixture.MacB.Write(noise);
                noise[12] = 0x86;
                noise[13] = 0xDD;
            }
            if (noise.Length >= 15)
            {
                noise[14] = (byte)(0x60 | (noise[14] & 0x0F));
            }
            return noise;
        }
        byte[] frame = [.. s_corpus[random.NextUInt64() % (ulong)s_corpus.Length]];
        if (!MacAddress.Read(frame).IsMulticast)
        {
            InterfaceFixture.MacB.Write(frame);
        }
        int mutations = (int)(random.NextUInt64() % 4);
        for (int m = 0; m < mutations && frame.Length > 0; m++)
        {
            int at = (int)(random.NextUInt64() % (ulong)frame.Length);
            switch (random.NextUInt64() % 7)
            {
                case 0:
                    frame[at] ^= (byte)(1 << (int)(random.NextUInt64() % 8));
                    break;
                case 1:
                    frame[at] = (byte)random.NextUInt64();
                    break;
                case 2:
                    frame = frame[..at];
                    break;
                case 3:
                    byte[] tail = new byte[random.NextUInt64() % 64];
                    random.Fill(tail);
                    frame = [.. frame, .. tail];
                    break;
                case 4 when frame.Length >= 21:
                    // Next header: an extension header or a protocol at random.
                    frame[20] = (byte)(random.NextUInt64() % 3 == 0 ? random.NextUInt64() : (byte)(new byte[] { 0, 43, 44, 58, 59, 60, 6, 17 })[random.NextUInt64() % 8]);
                    break;
                case 5 when frame.Length >= 20:
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(18), (ushort)(random.NextUInt64() % 1600));
                    break;
                case 6 when frame.Length >= 58:
                    // Inside the ICMPv6 message or NDP options: type, code and option lengths.
                    frame[54 + (int)(random.NextUInt64() % (ulong)Math.Min(frame.Length - 54, 40))] = (byte)random.NextUInt64();
                    break;
            }
        }
        if (random.NextDouble() < 0.8)
        {
            RepairChecksum(frame);
        }
        return frame;
    }

    private static void RepairChecksum(byte[] frame)
    {
        if (frame.Length < 54 || frame[12] != 0x86 || frame[13] != 0xDD
            || Ipv6Repr.TryParse(frame.AsSpan(14), out var ip, out var payload) != WireError.None
            || Ipv6HeaderChain.TryWalk(payload, ip.NextHeader, out var chain, out _, out _, out _) != Ipv6ChainError.None
            || chain.IsFragment || chain.Protocol != IpProtocol.Icmpv6 || payload.Length - chain.PayloadOffset < 8)
        {
            return;
        }
        new Icmpv6Packet(payload[chain.PayloadOffset..]).FillChecksum(ip.Source, ip.Destination);
    }
}
