using Unisharp.Net.Dhcp;
using Unisharp.Net.Wire;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Simulation;

public class DhcpSimulationTests
{
    private static readonly MacAddress s_serverMac = MacAddress.Parse("02:00:00:00:02:01");
    private static readonly MacAddress s_clientMac = MacAddress.Parse("02:00:00:00:02:0c");
    private static readonly Ipv4Address s_server = Ipv4Address.Parse("198.18.0.1");
    private static readonly Ipv4Address s_pool = Ipv4Address.Parse("198.18.0.100");

    private static (SimulatedNetwork Network, DhcpServerNode Server, DirectStack Client) Create(ulong seed, uint lease, LinkConditions link = default)
    {
        var network = new SimulatedNetwork(seed);
        var server = new DhcpServerNode(network.AddDevice("server", s_serverMac, link), s_server, s_pool, lease, router: s_server);
        network.AddNode(server);
        var client = StackNode.Add(network, "client", s_clientMac, null, link);
        return (network, server, client);
    }

    [Fact]
    public async Task Start_NoStaticAddress_LeasesFromServer()
    {
        var (network, server, client) = Create(1, 3600);
        await using var socket = client.Udp.Bind(5000);

        var early = await Assert.ThrowsAsync<NetworkException>(async () => await socket.SendAsync(new byte[1], new Ipv4Endpoint(s_server, 9)));
        Assert.Equal(NetworkError.HostUnreachable, early.Error);
        Assert.Equal(Ipv4Address.Any, client.Address);
        var waiting = client.WaitForAddressAsync();
        Assert.False(waiting.IsCompleted);

        PcapOnFailure.Run(network, () => Assert.True(network.RunUntil(() => client.Address != Ipv4Address.Any, Duration.FromSeconds(10))));

        Assert.Equal(s_pool, client.Address);
        Assert.Equal(new Ipv4Cidr(s_pool, 24), client.Cidr);
        Assert.Equal(s_server, client.Gateway);
        Assert.True(waiting.IsCompleted);
        Assert.Equal([DhcpMessageType.Discover, DhcpMessageType.Request], server.Received.Select(r => r.Type));
        Assert.Equal(1, client.Stats.DhcpLeasesAcquired);
        await socket.SendAsync(new byte[1], new Ipv4Endpoint(s_server, 9));
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Start_LossyLink_LeasesAfterRetransmissions(ulong seed)
    {
        var (network, server, client) = Create(seed, 3600, new LinkConditions(Loss: 0.4, Latency: Duration.FromMilliseconds(5)));

        PcapOnFailure.Run(network, () =>
        {
            Assert.True(network.RunUntil(() => client.Address != Ipv4Address.Any, Duration.FromSeconds(300)));
            Assert.Equal(s_pool, client.Address);
        });
    }

    [Fact]
    public void Start_LossyLinks_RetransmitsWithBackOff()
    {
        // The server drops everything for a while: DISCOVERs go out at about 0, 4, 12, 28 s (±1 s).
        var (network, server, client) = Create(7, 3600);
        server.Enabled = false;
        network.RunUntil(Instant.FromMilliseconds(40_000));
        server.Enabled = true;
        PcapOnFailure.Run(network, () =>
        {
            Assert.True(network.RunUntil(() => client.Address != Ipv4Address.Any, Duration.FromSeconds(120)));
            var discovers = server.Received.Where(r => r.Type == DhcpMessageType.Discover).Select(r => r.At.TotalMilliseconds).ToList();
            Assert.NotEmpty(discovers);
            // The first DISCOVER the server heard came after a gap of at least 4 s of the doubling series.
            Assert.True(discovers[0] >= 40_000);
            Assert.True(client.Interface.Dhcp!.State == DhcpState.Bound);
        });
    }

    [Fact]
    public void Lease_AtT1_RenewsByUnicastAndKeepsAddress()
    {
        var (network, server, client) = Create(2, 100);
        PcapOnFailure.Run(network, () =>
        {
            Assert.True(network.RunUntil(() => client.Address != Ipv4Address.Any, Duration.FromSeconds(10)));
            var leasedAt = network.Now;
            network.RunUntil(leasedAt + Duration.FromSeconds(60));

            var renewal = Assert.Single(server.Received, r => r.ClientAddress == s_pool);
            Assert.Equal(DhcpMessageType.Request, renewal.Type);
            Assert.True(renewal.Unicast);
            // T1 is half the 100 s lease.
            Assert.InRange((renewal.At - leasedAt).TotalSeconds, 49, 51);
            Assert.Equal(s_pool, client.Address);
            Assert.Equal(DhcpState.Bound, client.Interface.Dhcp!.State);
            Assert.True(client.Interface.Dhcp.ExpiresAt > leasedAt + Duration.FromSeconds(140),
                $"the lease expires {(client.Interface.Dhcp.ExpiresAt - leasedAt).TotalSeconds} s after it was taken, not more than 140 s");
        });
    }

    [Fact]
    public void Lease_ServerGone_RebindsAtT2AndDropsAddressAtExpiry()
    {
        var (network, server, client) = Create(3, 100);
        PcapOnFailure.Run(network, () =>
        {
            Assert.True(network.RunUntil(() => client.Address != Ipv4Address.Any, Duration.FromSeconds(10)));
            var leasedAt = network.Now;
            server.Enabled = false;

            network.RunUntil(leasedAt + Duration.FromSeconds(80));
            Assert.Equal(DhcpState.Renewing, client.Interface.Dhcp!.State);
            network.RunUntil(leasedAt + Duration.FromSeconds(90));
            // T2 is 7/8 of the lease: 87.5 s.
            Assert.Equal(DhcpState.Rebinding, client.Interface.Dhcp.State);
            Assert.Equal(s_pool, client.Address);

            Assert.True(network.RunUntil(() => client.Address == Ipv4Address.Any, Duration.FromSeconds(15)));
            Assert.InRange((network.Now - leasedAt).TotalSeconds, 99, 101);
            Assert.Equal(DhcpState.Selecting, client.Interface.Dhcp.State);
        });
    }

    [Fact]
    public void Lease_ServerRefusesRenewal_StartsOver()
    {
        var (network, server, client) = Create(4, 100);
        PcapOnFailure.Run(network, () =>
        {
            Assert.True(network.RunUntil(() => client.Address != Ipv4Address.Any, Duration.FromSeconds(10)));
            // The server forgets the client's lease (a restart without lease database): the renewal gets a NAK.
            var leasedAt = network.Now;
            network.RunUntil(leasedAt + Duration.FromSeconds(49));
            server.ForgetLeases();

            Assert.True(network.RunUntil(() => client.Address == Ipv4Address.Any, Duration.FromSeconds(5)));
            Assert.True(network.RunUntil(() => client.Address != Ipv4Address.Any, Duration.FromSeconds(10)));
            Assert.Equal(2, client.Stats.DhcpLeasesAcquired);
        });
    }

    [Fact]
    public void Lease_AddressAlreadyInUse_DeclinedAndAnotherLeased()
    {
        var (network, server, client) = Create(5, 3600);
        // A host with a static address the server's pool also holds.
        var squatter = StackNode.Add(network, "squatter", MacAddress.Parse("02:00:00:00:02:99"), "198.18.0.100/24");
        PcapOnFailure.Run(network, () =>
        {
            Assert.True(network.RunUntil(() => client.Address == Ipv4Address.Parse("198.18.0.101"), Duration.FromSeconds(60)));

            Assert.Contains(s_pool, server.Declined);
            Assert.Contains(server.Received, r => r.Type == DhcpMessageType.Decline);
            Assert.Equal(1, client.Stats.AddressConflicts);
            Assert.Equal(s_pool, squatter.Address);
        });
    }
}
