using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net.Iface;
using static Unisharp.Net.Tests.Core.InterfaceFixture;
using Unisharp.Testing;

namespace Unisharp.Net.Tests.Core;

public class AllocationTests
{
    [Fact]
    public void Poll_UdpEchoSteadyState_AllocatesNothing()
    {
        var device = new ReplayDevice(MacB, Captures.UdpHello);
        var iface = new NetworkInterface(device, new SeededEntropy(1), new Logger(LogLevel.Warning),
            new IpConfiguration(Ipv4Cidr.Parse("198.18.0.2/24"), null, false), Instant.Zero);
        iface.ArpCache.Update(IpA, MacA, Instant.Zero, create: true);
        var socket = iface.Udp.Bind(7000);
        byte[] buffer = new byte[100];
        var now = Instant.FromMilliseconds(10_000);
        void Round()
        {
            device.Pending = 16;
            iface.Poll(now);
            while (socket.TryReceive(buffer, out var received))
            {
                socket.TrySend(buffer.AsSpan(0, received.Length), received.Remote);
            }
            iface.Poll(now);
        }
        SteadyState.AssertAllocatesNothing(Round, warmup: 100, rounds: 1000);
        Assert.Equal(3100 * 16, iface.Stats.UdpDatagramsSent);
        Assert.Equal(0, iface.Stats.TotalDropped);
    }
    [Fact]
    public void Poll_Ipv6EchoSteadyState_AllocatesNothing()
    {
        // The captured ping to fe80::ff:fe00:b, which the interface at 02:00:00:00:00:0b answers once its link-local address is up.
        var device = new ReplayDevice(MacB, Ipv6Captures.EchoRequestLinkLocal);
        var iface = new NetworkInterface(device, new SeededEntropy(1), new Logger(LogLevel.Warning),
            new IpConfiguration(Ipv4Cidr.Parse("198.18.0.2/24"), null, false, Ipv6Autoconfiguration: true), Instant.Zero);
        var now = Instant.Zero;
        for (int i = 0; i < 30; i++)
        {
            now += Duration.FromMilliseconds(100);
            iface.Poll(now);
        }
        // Linux's neighbour entry, as its solicitation would have left it.
        iface.Neighbors!.LearnFromSolicitation(Ipv6Address.Parse("fe80::ff:fe00:a"), MacA, now);
        void Round()
        {
            device.Pending = 16;
            iface.Poll(now);
        }
        long repliesBefore = iface.Stats.EchoRepliesSent;
        SteadyState.AssertAllocatesNothing(Round, warmup: 100, rounds: 1000);
        Assert.Equal(3100 * 16, iface.Stats.EchoRepliesSent - repliesBefore);
    }
}
