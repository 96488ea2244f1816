using Unisharp.Net.Wire;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Simulation;

public class NetworkSimulationTests
{
    private static readonly MacAddress s_macA = MacAddress.Parse("02:00:00:00:01:0a");
    private static readonly MacAddress s_macB = MacAddress.Parse("02:00:00:00:01:0b");
    private static readonly Ipv4Address s_ipB = Ipv4Address.Parse("198.18.0.2");

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    [InlineData(4UL)]
    [InlineData(5UL)]
    public void Arp_LossyLinks_ResolvesWithRetries(ulong seed)
    {
        var network = new SimulatedNetwork(seed);
        var lossy = new LinkConditions(Loss: 0.3, Latency: Duration.FromMilliseconds(2));
        var a = StackNode.Add(network, "a", s_macA, "198.18.0.1/24", lossy);
        var b = StackNode.Add(network, "b", s_macB, "198.18.0.2/24", lossy);
        PcapOnFailure.Run(network, () =>
        {
            // Let the address probes finish, then ask for B.
            network.RunUntil(Instant.FromMilliseconds(5000));
            var socket = (DirectUdpSocket)a.Udp.Bind(5000);
            Assert.True(socket.Core.TrySend("ping"u8, new Ipv4Endpoint(s_ipB, 7)));

            bool resolved = network.RunUntil(() => a.Interface.ArpCache.TryLookup(s_ipB, network.Now, out _), Duration.FromSeconds(20));

            Assert.True(resolved, $"not resolved after {a.Stats.ArpRequestsSent} requests");
            Assert.InRange(a.Stats.ArpRequestsSent, 1, 5);
        });
    }

    [Fact]
    public void Arp_LossyLinks_SomeResolutionNeedsARetry()
    {
        long retried = 0;
        for (ulong seed = 1; seed <= 5; seed++)
        {
            var network = new SimulatedNetwork(seed);
            var lossy = new LinkConditions(Loss: 0.3);
            var a = StackNode.Add(network, "a", s_macA, "198.18.0.1/24", lossy);
            StackNode.Add(network, "b", s_macB, "198.18.0.2/24", lossy);
            network.RunUntil(Instant.FromMilliseconds(5000));
            ((DirectUdpSocket)a.Udp.Bind(5000)).Core.TrySend("ping"u8, new Ipv4Endpoint(s_ipB, 7));
            network.RunUntil(() => a.Interface.ArpCache.TryLookup(s_ipB, network.Now, out _), Duration.FromSeconds(20));
            retried += a.Stats.ArpRequestsSent > 1 ? 1 : 0;
        }

        Assert.True(retried > 0, "with 30% loss each way, no resolution in five runs needed a retry: the loss is not applied");
    }

    [Fact]
    public void Ping_BetweenStacks_GetsReply()
    {
        var network = new SimulatedNetwork(11);
        var a = StackNode.Add(network, "a", s_macA, "198.18.0.1/24", new LinkConditions(Latency: Duration.FromMilliseconds(1)));
        var b = StackNode.Add(network, "b", s_macB, "198.18.0.2/24");
        PcapOnFailure.Run(network, () =>
        {
            Assert.True(a.Interface.SendEchoRequest(s_ipB, 77, 1, "unisharp ping"u8, network.Now));

            Assert.True(network.RunUntil(() => a.Interface.LastEchoReply is not null, Duration.FromSeconds(2)));
            Assert.Equal((77, 1, s_ipB), a.Interface.LastEchoReply!.Value);
            Assert.Equal(1, b.Stats.EchoRepliesSent);
        });
    }

    [Fact]
    public void Fragments_ReorderedAndDuplicated_ReassembledIntact()
    {
        var network = new SimulatedNetwork(21);
        var messy = new LinkConditions(Duplicate: 0.1, Reorder: 0.4, Latency: Duration.FromMilliseconds(3), Jitter: Duration.FromMilliseconds(2));
        var a = StackNode.Add(network, "a", s_macA, "198.18.0.1/24", messy);
        var b = StackNode.Add(network, "b", s_macB, "198.18.0.2/24", messy);
        var sender = ((DirectUdpSocket)a.Udp.Bind(5000)).Core;
        var receiver = ((DirectUdpSocket)b.Udp.Bind(7000)).Core;
        PcapOnFailure.Run(network, () =>
        {
            var datagrams = new List<byte[]>();
            for (int i = 0; i < 12; i++)
            {
                byte[] datagram = new byte[3000 + 517 * i];
                new Unisharp.Devices.SeededEntropy((ulong)i).Fill(datagram);
                datagrams.Add(datagram);
                Assert.True(sender.TrySend(datagram, new Ipv4Endpoint(s_ipB, 7000)));
            }

            var received = new List<byte[]>();
            byte[] buffer = new byte[70_000];
            network.RunUntil(() =>
            {
                while (receiver.TryReceive(buffer, out var result))
                {
                    received.Add(buffer.AsSpan(0, result.Length).ToArray());
                }
                return received.Count >= datagrams.Count;
            }, Duration.FromSeconds(10));

            Assert.True(datagrams.Count == received.Count, $"received {received.Count}: {b.Stats}");
            // Order may change (the first waited for ARP, fragments were reordered), content may not.
            Assert.Equal(datagrams.Select(Convert.ToHexString).Order(), received.Select(Convert.ToHexString).Order());
            Assert.Equal(datagrams.Count, b.Stats.DatagramsReassembled);
            Assert.True(a.Stats.FragmentsSent > 2 * datagrams.Count);
        });
    }

    [Fact]
    public void Udp_LossDuplicationReordering_DeliversIntactDatagrams()
    {
        var network = new SimulatedNetwork(31);
        var bad = new LinkConditions(Loss: 0.1, Duplicate: 0.1, Reorder: 0.2, Latency: Duration.FromMilliseconds(5), Jitter: Duration.FromMilliseconds(5));
        var a = StackNode.Add(network, "a", s_macA, "198.18.0.1/24", bad);
        var b = StackNode.Add(network, "b", s_macB, "198.18.0.2/24", bad);
        var sender = ((DirectUdpSocket)a.Udp.Bind(5000)).Core;
        var receiver = ((DirectUdpSocket)b.Udp.Bind(7000)).Core;
        PcapOnFailure.Run(network, () =>
        {
            network.RunUntil(Instant.FromMilliseconds(5000));
            var seen = new List<int>();
            byte[] buffer = new byte[100];
            for (int i = 0; i < 200; i++)
            {
                sender.TrySend(BitConverter.GetBytes(i), new Ipv4Endpoint(s_ipB, 7000));
                // Bursts of ten, so a frame held back on the link can be overtaken by the next ones.
                if (i % 10 != 9)
                {
                    continue;
                }
                network.RunUntil(network.Now + Duration.FromMilliseconds(50));
                while (receiver.TryReceive(buffer, out var result))
                {
                    Assert.Equal(4, result.Length);
                    Assert.Equal(new Ipv4Endpoint(Ipv4Address.Parse("198.18.0.1"), 5000), result.Remote);
                    seen.Add(BitConverter.ToInt32(buffer));
                }
            }
            network.RunUntil(network.Now + Duration.FromSeconds(1));
            while (receiver.TryReceive(buffer, out _))
            {
                seen.Add(BitConverter.ToInt32(buffer));
            }

            Assert.All(seen, n => Assert.InRange(n, 0, 199));
            // About 10% lost (plus the first few while ARP resolves), about 10% duplicated, some out of order.
            Assert.InRange(seen.Distinct().Count(), 150, 199);
            Assert.True(seen.Count > seen.Distinct().Count(), "no duplicate arrived");
            Assert.True(seen.Zip(seen.Skip(1)).Any(p => p.First > p.Second), "nothing arrived out of order");
        });
    }

    [Fact]
    public async Task UdpSocket_AsyncApiInVirtualTime_EchoesDatagram()
    {
        var network = new SimulatedNetwork(41);
        var a = StackNode.Add(network, "a", s_macA, "198.18.0.1/24", new LinkConditions(Latency: Duration.FromMilliseconds(10)));
        var b = StackNode.Add(network, "b", s_macB, "198.18.0.2/24", new LinkConditions(Latency: Duration.FromMilliseconds(10)));
        await using var client = a.Udp.Bind(0);
        await using var server = b.Udp.Bind(7);
        byte[] serverBuffer = new byte[100];
        byte[] clientBuffer = new byte[100];

        var serverReceive = server.ReceiveAsync(serverBuffer).AsTask();
        await client.SendAsync("echo me"u8.ToArray(), new Ipv4Endpoint(s_ipB, 7));
        Assert.True(network.RunUntil(() => serverReceive.IsCompleted, Duration.FromSeconds(1)));
        var request = await serverReceive;
        var clientReceive = client.ReceiveAsync(clientBuffer).AsTask();
        await server.SendAsync(serverBuffer.AsMemory(0, request.Length), request.Remote);
        Assert.True(network.RunUntil(() => clientReceive.IsCompleted, Duration.FromSeconds(1)));
        var reply = await clientReceive;

        Assert.Equal("echo me", System.Text.Encoding.ASCII.GetString(clientBuffer, 0, reply.Length));
        Assert.Equal(new Ipv4Endpoint(s_ipB, 7), reply.Remote);
        Assert.Equal(client.LocalEndpoint, request.Remote);
        // Two ARP exchanges' worth of latency at most: well under a second of virtual time.
        Assert.True(network.Now < Instant.FromMilliseconds(200), $"took until {network.Now}");
    }

    [Fact]
    public async Task UdpSocket_ClosedPort_SenderSeesIcmpNotSocket()
    {
        var network = new SimulatedNetwork(51);
        var a = StackNode.Add(network, "a", s_macA, "198.18.0.1/24");
        var b = StackNode.Add(network, "b", s_macB, "198.18.0.2/24");
        await using var client = a.Udp.Bind(0);

        await client.SendAsync(new byte[10], new Ipv4Endpoint(s_ipB, 9));
        network.RunUntil(Instant.FromMilliseconds(100));

        Assert.Equal(1, b.Stats.IcmpUnreachableSent);
        Assert.Equal(1, b.Stats.Dropped(DropReason.NoSocket));
    }

    [Fact]
    public void Fragmentation_SmallMtuPeer_DatagramsCrossInFragments()
    {
        var network = new SimulatedNetwork(61);
        var a = StackNode.Add(network, "a", s_macA, "198.18.0.1/24", mtu: 576);
        var b = StackNode.Add(network, "b", s_macB, "198.18.0.2/24", mtu: 576);
        var sender = ((DirectUdpSocket)a.Udp.Bind(5000)).Core;
        var receiver = ((DirectUdpSocket)b.Udp.Bind(7000)).Core;
        byte[] datagram = new byte[4000];
        new Unisharp.Devices.SeededEntropy(5).Fill(datagram);
        PcapOnFailure.Run(network, () =>
        {
            sender.TrySend(datagram, new Ipv4Endpoint(s_ipB, 7000));
            byte[] buffer = new byte[5000];
            UdpReceiveResult result = default;

            Assert.True(network.RunUntil(() => receiver.TryReceive(buffer, out result), Duration.FromSeconds(1)));
            Assert.Equal(datagram, buffer.AsSpan(0, result.Length).ToArray());
            // 4008 bytes of UDP in 552-byte pieces: 8 fragments.
            Assert.Equal(8, a.Stats.FragmentsSent);
        });
    }
}
