using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net.Tcp;
using Unisharp.Testing;

namespace Unisharp.Net.Tests.Tcp;

public class TcpAllocationTests
{
    private static DirectStack Stack(CableDevice device, string cidr, ulong seed, TcpCongestionControl cc) =>
        DirectStack.CreateManualWithTcp(new StackOptions
        {
            Device = device,
            Clock = new SystemClock(),
            Entropy = new SeededEntropy(seed),
            Ip = new IpConfiguration(Ipv4Cidr.Parse(cidr), null, false),
            Log = new Logger(LogLevel.Quiet),
        }, new TcpSettings { CongestionControl = cc });

    /// <summary>Two manual stacks on a cable, one connection established between them, stepped 1 ms at a time.</summary>
    private sealed class Connected
    {
        private Instant _now = Instant.FromMilliseconds(10_000);

        public required DirectStack A { get; init; }

        public required DirectStack B { get; init; }

        public TcpSocket Client { get; private set; } = null!;

        public TcpSocket Server { get; private set; } = null!;

        public void Step()
        {
            _now += Duration.FromMilliseconds(1);
            A.Poll(_now);
            B.Poll(_now);
        }

        /// <summary>Connects A to a listener on B, port 80; <paramref name="macByte"/> keeps each test's MACs apart.</summary>
        public static Connected Create(byte macByte, ulong seedA, ulong seedB, TcpCongestionControl cc = TcpCongestionControl.Cubic)
        {
            var (deviceA, deviceB) = CableDevice.CreatePair(MacAddress.Parse($"02:00:00:00:06:{macByte:x2}"), MacAddress.Parse($"02:00:00:00:06:{macByte + 1:x2}"));
            var pair = new Connected { A = Stack(deviceA, "198.18.0.1/24", seedA, cc), B = Stack(deviceB, "198.18.0.2/24", seedB, cc) };
            TcpListenerCore listener;
            lock (pair.B.TcpLayer.Lock)
            {
                listener = pair.B.TcpLayer.Listen(80, 4);
            }
            lock (pair.A.TcpLayer.Lock)
            {
                pair.Client = pair.A.TcpLayer.Connect(new Ipv4Endpoint(pair.B.Address, 80));
            }
            for (int i = 0; i < 2000 && listener.Accepted.Count == 0; i++)
            {
                pair.Step();
            }
            Assert.Single(listener.Accepted);
            pair.Server = listener.Accepted.Dequeue();
            return pair;
        }
    }

    /// <summary>With BBR, the delivery rate records, the model and pacing (the deadline heap) allocate nothing per segment either.</summary>
    [Theory]
    [InlineData(TcpCongestionControl.Cubic, 0x0a)]
    [InlineData(TcpCongestionControl.Bbr, 0x2a)]
    public void Poll_BulkTransferSteadyState_AllocatesNothing(TcpCongestionControl cc, byte macByte)
    {
        var pair = Connected.Create(macByte, seedA: 1, seedB: 2, cc);
        var (a, b, client, server) = (pair.A, pair.B, pair.Client, pair.Server);
        void Step() => pair.Step();
        byte[] chunk = new byte[32 * 1024];
        byte[] sink = new byte[64 * 1024];
        long received = 0;
        void Round()
        {
            lock (a.TcpLayer.Lock)
            {
                client.Send(chunk);
            }
            Step();
            lock (b.TcpLayer.Lock)
            {
                int n;
                while ((n = server.Receive(sink)) > 0)
                {
                    received += n;
                }
            }
            Step();
        }
        long receivedBefore = 0;
        int rounds = 0;
        void Measured()
        {
            if (rounds++ == 200)
            {
                receivedBefore = received;
            }
            Round();
        }

        SteadyState.AssertAllocatesNothing(Measured, warmup: 200, rounds: 1000);
        Assert.Equal(TcpState.Established, client.State);
        Assert.True(received - receivedBefore > 3000L * 16 * 1024, $"only {received - receivedBefore} bytes moved");
    }

    [Fact]
    public void ReadWriteAsync_BulkTransferSteadyState_AllocatesNothing()
    {
        var pair = Connected.Create(0x1a, seedA: 3, seedB: 4);
        var (a, b) = (pair.A, pair.B);
        void Step() => pair.Step();
        // The connections' async faces, as the listener and ConnectAsync hand them out.
        var clock = new SystemClock();
        var client = new DirectTcpConnection(a.TcpLayer, pair.Client, static () => { }, clock);
        var server = new DirectTcpConnection(b.TcpLayer, pair.Server, static () => { }, clock);
        using var stop = new CancellationTokenSource();
        long received = 0;
        long written = 0;
        // Both loops run inline in the polls (a manual stack continues waiters on the polling thread), with a
        // cancellable token, as apps pass one.
        async Task ReadLoop()
        {
            byte[] buffer = new byte[64 * 1024];
            int n;
            while ((n = await server.ReadAsync(buffer, stop.Token).ConfigureAwait(false)) > 0)
            {
                received += n;
            }
        }
        async Task WriteLoop()
        {
            byte[] chunk = new byte[48 * 1024];
            while (true)
            {
                await client.WriteAsync(chunk, stop.Token).ConfigureAwait(false);
                written += chunk.Length;
            }
        }
        var reading = ReadLoop();
        var writing = WriteLoop();
        for (int i = 0; i < 500; i++)
        {
            Step();
        }

        long receivedBefore = received;
        SteadyState.AssertAllocatesNothing(Step, warmup: 0, rounds: 1000);

        Assert.False(reading.IsCompleted);
        Assert.False(writing.IsCompleted);
        Assert.True(received - receivedBefore > 3000L * 16 * 1024, $"only {received - receivedBefore} bytes moved");
    }
}
