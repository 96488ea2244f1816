using Unisharp.Net.Tcp;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Tcp;

/// <summary>ITcpConnection.CloseAsync on our stack: a graceful close that waits for the FIN's acknowledgment, in virtual time.</summary>
public class TcpCloseTests
{
    private static readonly LinkConditions s_lan = new(Latency: Duration.FromMilliseconds(5), BitsPerSecond: 100_000_000);

    [Fact]
    public void CloseAsync_PeerReads_TrueOnceFinAcknowledged()
    {
        var net = TcpNet.Create(61, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        byte[] data = TcpNet.RandomBytes(300_000, 61);
        var reading = TcpNet.ReadToEnd(server, data.Length);

        async Task<bool> WriteThenClose()
        {
            await client.WriteAsync(data).ConfigureAwait(false);
            return await client.CloseAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        var socket = TcpNet.SocketOf(client);
        bool closed = net.Run(WriteThenClose(), Duration.FromSeconds(10));

        Assert.True(closed);
        Assert.True(socket.FinAcknowledged);
        Assert.Equal(TcpState.FinWait2, socket.State);
        Assert.Equal(data, net.Run(reading, Duration.FromSeconds(5)));
        // The close disposed the connection: it finishes alone and frees its buffers.
        Assert.Throws<NetworkException>(() => client.ReadAsync(new byte[1]).AsTask().GetAwaiter().GetResult());
    }

    [Fact]
    public void CloseAsync_PeerGone_ResetAfterTimeoutFalse()
    {
        var net = TcpNet.Create(62, s_lan);
        var (client, _) = net.Connect(net.B.Tcp.Listen(80));
        var socket = TcpNet.SocketOf(client);
        net.Cut();
        var started = net.Network.Now;

        async Task<bool> WriteThenClose()
        {
            await client.WriteAsync(new byte[10_000]).ConfigureAwait(false);
            return await client.CloseAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        }
        bool closed = net.Run(WriteThenClose(), Duration.FromSeconds(10));

        Assert.False(closed);
        Assert.InRange((net.Network.Now - started).TotalMilliseconds, 3000, 3100);
        Assert.Equal(TcpState.Closed, socket.State);
        Assert.Equal(NetworkError.TimedOut, socket.Error);
        Assert.True(net.A.TcpLayer.Stats.ResetsSent >= 1);
        net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(100));
        Assert.Equal(0, net.A.TcpLayer.ConnectionCount);
        Assert.Equal(0, net.A.TcpLayer.BufferBytes);
    }

    [Fact]
    public void CloseAsync_PeerNotReadingWindowFull_TimesOutFalse()
    {
        var small = new TcpSettings { ReceiveBufferSize = 16 * 1024, SendBufferSize = 64 * 1024 };
        var net = TcpNet.Create(63, s_lan, small, small);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));

        async Task<bool> WriteThenClose()
        {
            await client.WriteAsync(new byte[40_000]).ConfigureAwait(false);
            return await client.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        bool closed = net.Run(WriteThenClose(), Duration.FromSeconds(10));

        Assert.False(closed);
        // The reader learns of the reset once it reads past what had arrived.
        var e = Assert.Throws<NetworkException>(() => net.Run(TcpNet.ReadToEnd(server, 40_000), Duration.FromSeconds(5)));
        Assert.Equal(NetworkError.ConnectionReset, e.Error);
    }

    [Fact]
    public void CloseAsync_AfterPeerClosed_TrueFromLastAck()
    {
        var net = TcpNet.Create(64, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));

        net.Run(server.ShutdownWriteAsync().AsTask(), Duration.FromSeconds(1));
        Assert.Equal(0, net.Run(client.ReadAsync(new byte[16]).AsTask(), Duration.FromSeconds(5)));
        var socket = TcpNet.SocketOf(client);
        bool closed = net.Run(client.CloseAsync(TimeSpan.FromSeconds(5)).AsTask(), Duration.FromSeconds(5));

        Assert.True(closed);
        Assert.Equal(TcpState.Closed, socket.State);
        Assert.Null(socket.Error);
    }
}
