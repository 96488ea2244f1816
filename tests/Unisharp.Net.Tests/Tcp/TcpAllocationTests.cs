using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net.Tcp;

namespace Unisharp.Net.Tests.Tcp;

public class TcpAllocationTests
{
    private static DirectStack Stack(CableDevice device, string cidr, ulong seed) =>
        DirectStack.CreateManualWithTcp(new StackOptions
        {
            Device = device,
            Clock = new SystemClock(),
            Entropy = new SeededEntropy(seed),
            Ip = new IpConfiguration(Ipv4Cidr.Parse(cidr), null, false),
            Log = new Logger(LogLevel.Quiet),
        }, new TcpSettings());

    [Fact]
    public void Poll_BulkTransferSteadyState_AllocatesNothing()
    {
        var (deviceA, deviceB) = CableDevice.CreatePair(MacAddress.Parse("02:00:00:00:06:0a"), MacAddress.Parse("02:00:00:00:06:0b"));
        var a = Stack(deviceA, "198.18.0.1/24", 1);
        var b = Stack(deviceB, "198.18.0.2/24", 2);
        var now = Instant.FromMilliseconds(10_000);
        void Step()
        {
            now += Duration.FromMilliseconds(1);
            a.Poll(now);
            b.Poll(now);
        }
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
        for (int i = 0; i < 20 && listener.Accepted.Count == 0; i++)
        {
            Step();
        }
        var server = listener.Accepted.Dequeue();
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
        for (int i = 0; i < 200; i++)
        {
            Round();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        long receivedBefore = received;
        for (int i = 0; i < 2000; i++)
        {
            Round();
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(TcpState.Established, client.State);
        Assert.True(received - receivedBefore > 2000L * 16 * 1024, $"only {received - receivedBefore} bytes moved");
        Assert.Equal(0, allocated);
    }
}
