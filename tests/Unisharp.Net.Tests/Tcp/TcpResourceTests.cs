using System.Runtime.CompilerServices;
using Unisharp.Net.Tcp;
using Unisharp.Net.Wire;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Tcp;

public class TcpResourceTests
{
    private static readonly LinkConditions s_lan = new(Latency: Duration.FromMilliseconds(5), BitsPerSecond: 100_000_000);

    [Fact]
    public void SynFlood_ManySpoofedSyns_HalfOpenBoundedCookiesAfterAndRealClientServed()
    {
        var settings = new TcpSettings { MaxHalfOpen = 32 };
        var net = TcpNet.Create(40, s_lan, settingsB: settings);
        var listener = net.B.Tcp.Listen(80);
        var random = new Random(1);

        for (int i = 0; i < 5000; i++)
        {
            var source = new Ipv4Address((uint)(0xC6120000 | (uint)random.Next(10, 250)));
            var syn = new TcpRepr((ushort)random.Next(1024, 65535), 80, new SeqNum((uint)random.Next()), default, TcpFlags.Syn, 64240,
                MaxSegmentSize: 1460, WindowScale: 7, SackPermitted: true, Timestamp: new TcpTimestamp((uint)i, 0));
            net.Inject(net.B, source, syn);
            Assert.InRange(net.B.TcpLayer.HalfOpenCount, 1, 32);
        }

        // The table filled, then cookies answered: nothing was evicted, nothing more kept.
        Assert.Equal(5000 - 32, net.B.TcpLayer.Stats.SynCookiesSent);
        Assert.Equal(32, net.B.TcpLayer.ConnectionCount);
        Assert.Equal(0, net.B.TcpLayer.BufferBytes);

        // A real client still gets through, and the flood's leftovers time out.
        var (client, server) = net.Connect(listener);
        Assert.Equal(TcpState.Established, TcpNet.SocketOf(server).State);
        net.Network.RunUntil(net.Network.Now + Duration.FromSeconds(120));
        Assert.Equal(1, net.B.TcpLayer.ConnectionCount);
        Assert.Equal(0, net.B.TcpLayer.HalfOpenCount);
        Assert.Equal(TcpState.Established, TcpNet.SocketOf(client).State);
    }

    [Fact]
    public void Backlog_NobodyAccepts_QueueBoundedExtraConnectionsRefused()
    {
        var net = TcpNet.Create(41, s_lan);
        var listener = (DirectTcpListener)net.B.Tcp.Listen(80, backlog: 2);
        var connects = new List<Task<ITcpConnection>>();

        for (int i = 0; i < 5; i++)
        {
            connects.Add(net.A.Tcp.ConnectAsync(new Ipv4Endpoint(TcpNet.AddressB, 80)).AsTask());
        }
        net.Network.RunUntil(net.Network.Now + Duration.FromSeconds(5));

        Assert.Equal(2, listener.Core.Accepted.Count);
        Assert.Equal(2, net.B.TcpLayer.ConnectionCount);
        Assert.Equal(2 * (long)(256 * 1024 * 2), net.B.TcpLayer.BufferBytes);
    }

    [Fact]
    public void Memory_TotalBound_ExtraConnectionsSynDropped()
    {
        var settings = new TcpSettings { SendBufferSize = 64 * 1024, ReceiveBufferSize = 64 * 1024, MaxBufferBytes = 3 * 128 * 1024 };
        var net = TcpNet.Create(42, s_lan, settingsB: settings);
        var listener = net.B.Tcp.Listen(80);
        var accepted = new List<ITcpConnection>();
        for (int i = 0; i < 3; i++)
        {
            accepted.Add(net.Connect(listener).Server);
        }

        // Before: the fourth completed its handshake and was then reset. Now its SYNs go unanswered, as Linux's do at a
        // full accept queue, until there is room.
        var fourth = net.A.Tcp.ConnectAsync(new Ipv4Endpoint(TcpNet.AddressB, 80)).AsTask();
        net.Network.RunUntil(net.Network.Now + Duration.FromSeconds(5));

        Assert.False(fourth.IsCompleted);
        Assert.True(net.B.TcpLayer.Stats.SynsDropped >= 2);
        Assert.Equal(0, net.B.TcpLayer.Stats.ResetsSent);
        Assert.Equal(3 * 128 * 1024, net.B.TcpLayer.BufferBytes);
    }

    [Fact]
    public void TimeWait_ManyConnections_BoundedByEvictingOldest()
    {
        var settings = new TcpSettings { MaxTimeWait = 5 };
        var net = TcpNet.Create(43, s_lan, settings);
        var listener = net.B.Tcp.Listen(80);

        for (int i = 0; i < 20; i++)
        {
            var (client, server) = net.Connect(listener);
            client.DisposeAsync();
            server.DisposeAsync();
            net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(100));
            Assert.InRange(net.A.TcpLayer.TimeWaitCount, 1, 5);
        }

        Assert.Equal(15, net.A.TcpLayer.Stats.TimeWaitEvicted);
        Assert.Equal(5, net.A.TcpLayer.ConnectionCount);
    }

    [Fact]
    public void Connections_ManyOpenedAndClosed_EverythingReleased()
    {
        var net = TcpNet.Create(44, s_lan);
        var listener = net.B.Tcp.Listen(80);
        var weak = new List<WeakReference>();

        for (int i = 0; i < 100; i++)
        {
            weak.Add(OneExchange(net, listener, i));
        }
        net.Network.RunUntil(net.Network.Now + Duration.FromSeconds(61));

        Assert.Equal(0, net.A.TcpLayer.ConnectionCount);
        Assert.Equal(0, net.B.TcpLayer.ConnectionCount);
        Assert.Equal(0, net.A.TcpLayer.BufferBytes);
        Assert.Equal(0, net.B.TcpLayer.BufferBytes);
        Assert.Equal(0, net.A.TcpLayer.TimeWaitCount);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        int alive = weak.Count(w => w.IsAlive);
        Assert.True(alive == 0, $"{alive} of 100 connections are still reachable after close");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference OneExchange(TcpNet net, ITcpListener listener, int i)
    {
        var (client, server) = net.Connect(listener);
        byte[] data = TcpNet.RandomBytes(1000 + i, i);
        var sending = TcpNet.WriteAllAndClose(client, data);
        byte[] received = net.Run(TcpNet.ReadToEnd(server, data.Length), Duration.FromSeconds(5));
        Assert.Equal(data, received);
        server.DisposeAsync();
        net.Run(TcpNet.ReadToEnd(client, 0), Duration.FromSeconds(5));
        client.DisposeAsync();
        return new WeakReference(TcpNet.SocketOf(client));
    }
}
