using System.Buffers.Binary;
using Unisharp.Devices;
using Unisharp.Net.Iface;
using Unisharp.Net.Tests.Core;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Fuzz;

/// <summary>
/// Feeds the interface random and mutated frames, seeded so a failure reproduces: nothing may throw out
/// of the poll, no frame may hit the internal-error path, and every table must stay within its bound.
/// </summary>
[Collection(MemoryMeasurement.Name)]
public class FrameFuzzTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>The seed corpus: every captured frame, as seen by 198.18.0.2.</summary>
    private static readonly byte[][] s_corpus =
    [
        Captures.ArpRequest, Captures.ArpReply, Captures.EchoRequest, Captures.EchoReply, Captures.FragmentedEchoFirst,
        Captures.FragmentedEchoLast, Captures.UdpHello, Captures.UdpHelloReply, Captures.UdpToClosedPort,
        Captures.PortUnreachable, Captures.DhcpDiscover, Captures.DhcpOffer, Captures.DhcpRequest, Captures.DhcpAck,
    ];

    [Theory]
    [InlineData("198.18.0.2/24", 100_000, 1UL)]
    [InlineData(null, 30_000, 2UL)]
    public void Poll_RandomAndMutatedFrames_NoExceptionAndBoundedMemory(string? cidr, int frames, ulong seed)
    {
        var random = new SeededEntropy(seed);
        var device = new TestDevice(InterfaceFixture.MacB);
        var options = new NetworkInterfaceOptions();
        var iface = InterfaceFixture.Create(device, cidr, options: options, seed: seed);
        var sockets = new[] { iface.Udp.Bind(7000), iface.Udp.Bind(5000), iface.Udp.Bind(68 + 1) };
        byte[] sink = new byte[70_000];
        var now = Instant.Zero;
        GC.Collect();
        long memoryBefore = GC.GetTotalMemory(forceFullCollection: true);

        for (int i = 0; i < frames; i++)
        {
            device.Incoming.Enqueue(NextFrame(random));
            now += Duration.FromMicroseconds((long)(random.NextUInt64() % 20_000));
            iface.Poll(now);
            device.Sent.Clear();
            if (i % 64 == 0)
            {
                foreach (var socket in sockets)
                {
                    while (socket.TryReceive(sink, out _))
                    {
                    }
                    socket.TrySend(sink.AsSpan(0, (int)(random.NextUInt64() % 3000)), new Ipv4Endpoint(new Ipv4Address(0xC6120000 | (uint)(random.NextUInt64() % 256)), 9));
                }
            }
            Assert.True(iface.ArpCache.Count <= options.ArpCacheCapacity);
            Assert.True(iface.ArpPending.Count <= options.ArpPendingCapacity);
            Assert.True(iface.Reassembly.InProgress <= options.ReassemblyCapacity);
            Assert.True(iface.Reassembly.BytesHeld <= options.ReassemblyMaxBytes);
        }

        output.WriteLine(iface.Stats.ToString());
        GC.Collect();
        long memoryAfter = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(0, iface.Stats.Dropped(DropReason.InternalError));
        Assert.Equal(frames, iface.Stats.FramesReceived);
        // Pools may keep a few reassembly buffers; growth beyond that would be a leak.
        Assert.True(memoryAfter - memoryBefore < 16 * 1024 * 1024, $"memory grew by {(memoryAfter - memoryBefore) / 1024} KiB");
        // The fuzzer must reach past the first checks, or it tests nothing.
        long reachedTop = cidr is null
            ? iface.Stats.DhcpMessagesReceived
            : iface.Stats.UdpDatagramsReceived + iface.Stats.EchoRepliesSent + iface.Stats.ArpRepliesSent;
        Assert.True(reachedTop > 100, iface.Stats.ToString());
    }

    private static byte[] NextFrame(SeededEntropy random)
    {
        double kind = random.NextDouble();
        if (kind < 0.15)
        {
            // Pure noise, half of it addressed to us so it gets past the MAC filter.
            byte[] noise = new byte[(int)(random.NextUInt64() % 1600)];
            random.Fill(noise);
            if (noise.Length >= 6 && random.NextDouble() < 0.5)
            {
                InterfaceFixture.MacB.Write(noise);
            }
            return noise;
        }
        byte[] frame = [.. s_corpus[random.NextUInt64() % (ulong)s_corpus.Length]];
        if (frame.Length >= 6 && MacAddress.Read(frame) != MacAddress.Broadcast)
        {
            InterfaceFixture.MacB.Write(frame);
        }
        int mutations = (int)(random.NextUInt64() % 4);
        for (int m = 0; m < mutations && frame.Length > 0; m++)
        {
            int at = (int)(random.NextUInt64() % (ulong)frame.Length);
            switch (random.NextUInt64() % 6)
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
                case 4 when frame.Length >= 22:
                    // Fragment fields: offset and MF at random, to stress reassembly.
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(20), (ushort)random.NextUInt64());
                    break;
                case 5 when frame.Length >= 18:
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), (ushort)(random.NextUInt64() % 1600));
                    break;
            }
        }
        // Mostly repair the checksums, so mutations reach the layers above the IPv4 header check.
        if (random.NextDouble() < 0.7)
        {
            RepairChecksums(frame);
        }
        return frame;
    }

    private static void RepairChecksums(byte[] frame)
    {
        if (frame.Length < 34 || frame[12] != 0x08 || frame[13] != 0x00)
        {
            return;
        }
        var ip = frame.AsSpan(14);
        int headerLength = (ip[0] & 0x0F) * 4;
        if (headerLength < 20 || ip.Length < headerLength)
        {
            return;
        }
        ip[10] = 0;
        ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip[..headerLength]));
        int total = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(ip[2..]), ip.Length);
        if (total <= headerLength || (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3FFF) != 0)
        {
            return;
        }
        var payload = ip[headerLength..total];
        var source = Ipv4Address.Read(ip[12..]);
        var destination = Ipv4Address.Read(ip[16..]);
        if (ip[9] == (byte)IpProtocol.Udp && payload.Length >= 8)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(payload[4..]);
            if (length >= 8 && length <= payload.Length)
            {
                new UdpPacket(payload).FillChecksum(source, destination);
            }
        }
        else if (ip[9] == (byte)IpProtocol.Icmp && payload.Length >= 8)
        {
            new Icmpv4Packet(payload).FillChecksum();
        }
    }
}
