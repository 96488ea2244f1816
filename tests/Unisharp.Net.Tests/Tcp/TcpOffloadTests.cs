using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net.Tcp;
using Unisharp.Testing;

namespace Unisharp.Net.Tests.Tcp;

/// <summary>Checksum and segmentation offload: large segments out, large segments with partial checksums in.</summary>
public class TcpOffloadTests
{
    private sealed class Pair
    {
        public required CableDevice DeviceA { get; init; }
        public required CableDevice DeviceB { get; init; }
        public required DirectStack A { get; init; }
        public required DirectStack B { get; init; }
        public required TcpSocket Client { get; init; }
        public required TcpSocket Server { get; init; }
        public Instant Now { get; set; } = Instant.FromMilliseconds(10_000);

        public void Step()
        {
            Now += Duration.FromMilliseconds(1);
            A.Poll(Now);
            B.Poll(Now);
        }
    }

    private static DirectStack Stack(CableDevice device, string cidr, ulong seed) =>
        DirectStack.CreateManualWithTcp(new StackOptions
        {
            Device = device,
            Clock = new SystemClock(),
            Entropy = new SeededEntropy(seed),
            Ip = new IpConfiguration(Ipv4Cidr.Parse(cidr), null, false),
            Log = new Logger(LogLevel.Quiet),
        }, new TcpSettings());

    private static Pair Connect(CableOffload mode)
    {
        var (deviceA, deviceB) = CableDevice.CreatePair(MacAddress.Parse("02:00:00:00:07:0a"), MacAddress.Parse("02:00:00:00:07:0b"), mode);
        var a = Stack(deviceA, "198.18.0.1/24", 1);
        var b = Stack(deviceB, "198.18.0.2/24", 2);
        TcpListenerCore listener;
        TcpSocket client;
        lock (b.TcpLayer.Lock)
        {
            listener = b.TcpLayer.Listen(80, 4);
        }
        lock (a.TcpLayer.Lock)
        {
            client = a.TcpLayer.Connect(new Ipv4Endpoint(b.Address, 80));
        }
        var pair = new Pair { DeviceA = deviceA, DeviceB = deviceB, A = a, B = b, Client = client, Server = null! };
        for (int i = 0; i < 20 && listener.Accepted.Count == 0; i++)
        {
            pair.Step();
        }
        return new Pair { DeviceA = deviceA, DeviceB = deviceB, A = a, B = b, Client = client, Server = listener.Accepted.Dequeue(), Now = pair.Now };
    }

    /// <summary>Sends <paramref name="data"/> from <paramref name="from"/> to <paramref name="to"/>; returns what arrived.</summary>
    private static byte[] Transfer(Pair pair, TcpSocket from, DirectStack fromStack, TcpSocket to, DirectStack toStack, byte[] data)
    {
        var received = new MemoryStream(data.Length);
        byte[] buffer = new byte[64 * 1024];
        int sent = 0;
        for (int step = 0; step < 200_000 && received.Length < data.Length; step++)
        {
            lock (fromStack.TcpLayer.Lock)
            {
                sent += from.Send(data.AsSpan(sent));
            }
            pair.Step();
            lock (toStack.TcpLayer.Lock)
            {
                int n;
                while ((n = to.Receive(buffer)) > 0)
                {
                    received.Write(buffer, 0, n);
                }
            }
        }
        return received.ToArray();
    }

    [Fact]
    public void Send_SegmentationOffloadToPlainPeer_LargeSegmentsCutByteExact()
    {
        var pair = Connect(CableOffload.Segment);
        byte[] data = TcpNet.RandomBytes(4 << 20, 31);

        byte[] received = Transfer(pair, pair.Client, pair.A, pair.Server, pair.B, data);

        Assert.True(data.AsSpan().SequenceEqual(received), $"{received.Length} of {data.Length} bytes, or they differ");
        Assert.True(pair.DeviceA.LargeFramesSent > 50, $"{pair.DeviceA.LargeFramesSent} large segments");
        Assert.True(pair.DeviceA.PartialChecksumsSent > 0);
        Assert.Equal(0, pair.B.TcpLayer.Stats.BadChecksums);
        Assert.Equal(1460, pair.Client.SendMss + 12);
    }

    [Fact]
    public void Receive_LargeSegmentsWithPartialChecksums_AcceptedByteExact()
    {
        // Both ends offload: B's large segments with partial checksums reach A as they are, over A's MTU.
        var pair = Connect(CableOffload.PassThrough);
        byte[] data = TcpNet.RandomBytes(4 << 20, 32);

        byte[] received = Transfer(pair, pair.Server, pair.B, pair.Client, pair.A, data);

        Assert.True(data.AsSpan().SequenceEqual(received), $"{received.Length} of {data.Length} bytes, or they differ");
        Assert.True(pair.DeviceB.LargeFramesSent > 50, $"{pair.DeviceB.LargeFramesSent} large segments");
        Assert.Equal(0, pair.A.TcpLayer.Stats.BadChecksums);
        Assert.Equal(0, pair.A.Stats.TotalDropped);
    }

    [Fact]
    public void Send_PlainPeerSendsBack_OffloadEndVerifiesPlainChecksums()
    {
        // The offloading end still checks every checksum that was on a wire: B's plain segments are verified.
        var pair = Connect(CableOffload.Segment);
        byte[] data = TcpNet.RandomBytes(1 << 20, 33);

        byte[] received = Transfer(pair, pair.Server, pair.B, pair.Client, pair.A, data);

        Assert.True(data.AsSpan().SequenceEqual(received));
        Assert.Equal(0, pair.DeviceB.LargeFramesSent);
        Assert.Equal(0, pair.A.TcpLayer.Stats.BadChecksums);
    }

    [Fact]
    public void Poll_OffloadBulkTransferSteadyState_AllocatesNothing()
    {
        var pair = Connect(CableOffload.PassThrough);
        byte[] chunk = new byte[64 * 1024];
        byte[] sink = new byte[256 * 1024];
        long received = 0;
        void Round()
        {
            lock (pair.A.TcpLayer.Lock)
            {
                pair.Client.Send(chunk);
            }
            pair.Step();
            lock (pair.B.TcpLayer.Lock)
            {
                int n;
                while ((n = pair.Server.Receive(sink)) > 0)
                {
                    received += n;
                }
            }
            pair.Step();
        }
        long receivedBefore = 0;
        long largeBefore = 0;
        int rounds = 0;
        void Measured()
        {
            if (rounds++ == 200)
            {
                receivedBefore = received;
                largeBefore = pair.DeviceA.LargeFramesSent;
            }
            Round();
        }

        SteadyState.AssertAllocatesNothing(Measured, warmup: 200, rounds: 1000);
        Assert.True(received - receivedBefore > 3000L * 32 * 1024, $"only {received - receivedBefore} bytes moved");
        Assert.True(pair.DeviceA.LargeFramesSent - largeBefore > 1500, "the steady state did not use large segments");
    }
}
