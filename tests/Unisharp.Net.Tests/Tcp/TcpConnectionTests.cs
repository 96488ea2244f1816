using Unisharp.Net.Tcp;
using Unisharp.Net.Tests.Simulation;
using Unisharp.Net.Wire;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Tcp;

public class TcpConnectionTests
{
    private static readonly LinkConditions s_lan = new(Latency: Duration.FromMilliseconds(5), BitsPerSecond: 100_000_000);

    [Fact]
    public void Connect_ToLinuxLikePeer_NegotiatesOptions()
    {
        var net = TcpNet.Create(10, s_lan);
        var listener = net.B.Tcp.Listen(80);

        var (client, server) = net.Connect(listener);

        var socket = TcpNet.SocketOf(client);
        Assert.Equal(TcpState.Established, socket.State);
        Assert.Equal(TcpState.Established, TcpNet.SocketOf(server).State);
        Assert.True(socket.TimestampsEnabled);
        Assert.True(socket.SackEnabled);
        Assert.Equal(1448, socket.SendMss);
        Assert.Equal(3, socket.SendWindowShift);
        Assert.Equal(new Ipv4Endpoint(TcpNet.AddressB, 80), client.RemoteEndpoint);
        Assert.Equal(client.LocalEndpoint, server.RemoteEndpoint);
        Assert.InRange(client.LocalEndpoint.Port, 49152, 65535);
    }

    [Fact]
    public void Echo_BothDirections_ByteExact()
    {
        var net = TcpNet.Create(11, s_lan);
        var listener = net.B.Tcp.Listen(7);
        var (client, server) = net.Connect(listener, 7);
        byte[] request = TcpNet.RandomBytes(300_000, 1);

        var echo = EchoUntilEof(server);
        var sending = TcpNet.WriteAllAndClose(client, request);
        var reply = net.Run(TcpNet.ReadToEnd(client, request.Length), Duration.FromSeconds(30));

        Assert.Equal(request, reply);
        Assert.True(sending.IsCompletedSuccessfully && echo.IsCompletedSuccessfully);
    }

    private static async Task EchoUntilEof(ITcpConnection connection)
    {
        byte[] buffer = new byte[10_000];
        int n;
        while ((n = await connection.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            await connection.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
        }
        await connection.ShutdownWriteAsync().ConfigureAwait(false);
    }

    [Fact]
    public void Connect_ClosedPort_Refused()
    {
        var net = TcpNet.Create(12, s_lan);

        var connect = net.A.Tcp.ConnectAsync(new Ipv4Endpoint(TcpNet.AddressB, 81)).AsTask();
        net.Network.RunUntil(() => connect.IsCompleted, Duration.FromSeconds(5));

        var e = Assert.Throws<NetworkException>(() => connect.GetAwaiter().GetResult());
        Assert.Equal(NetworkError.ConnectionRefused, e.Error);
        Assert.Equal(1, net.B.TcpLayer.Stats.ResetsSent);
        Assert.Equal(0, net.A.TcpLayer.ConnectionCount);
    }

    [Fact]
    public void Connect_NobodyThere_TimesOutAfterSynRetries()
    {
        var net = TcpNet.Create(13, s_lan);

        var connect = net.A.Tcp.ConnectAsync(new Ipv4Endpoint(Ipv4Address.Parse("198.18.0.9"), 80)).AsTask();
        net.Network.RunUntil(() => connect.IsCompleted, Duration.FromSeconds(120));

        var e = Assert.Throws<NetworkException>(() => connect.GetAwaiter().GetResult());
        Assert.Equal(NetworkError.TimedOut, e.Error);
        // 1 + 2 + 4 + 8 + 16 + 32 seconds of backed-off SYN retransmissions.
        Assert.InRange(net.Network.Now.TotalMilliseconds, 63_000, 64_000);
        Assert.Equal(0, net.A.TcpLayer.ConnectionCount);
        Assert.Equal(0, net.A.TcpLayer.BufferBytes);
    }

    [Fact]
    public void Connect_Cancelled_ConnectionRemoved()
    {
        var net = TcpNet.Create(14, s_lan);
        using var cancel = new CancellationTokenSource();

        var connect = net.A.Tcp.ConnectAsync(new Ipv4Endpoint(Ipv4Address.Parse("198.18.0.9"), 80), cancel.Token).AsTask();
        // Cancelled from inside the run, so the continuations stay on the simulation's thread.
        net.Network.RunUntil(() =>
        {
            if (net.Network.Now >= Instant.FromMilliseconds(2000))
            {
                cancel.Cancel();
            }
            return connect.IsCompleted;
        }, Duration.FromSeconds(5));
        net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(100));

        Assert.True(connect.IsCanceled);
        Assert.Equal(0, net.A.TcpLayer.ConnectionCount);
        Assert.Equal(0, net.A.TcpLayer.BufferBytes);
    }

    [Fact]
    public void Abort_PeerReading_GetsConnectionReset()
    {
        var net = TcpNet.Create(15, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        var reading = server.ReadAsync(new byte[100]).AsTask();

        client.Abort();
        net.Network.RunUntil(() => reading.IsCompleted, Duration.FromSeconds(5));

        var e = Assert.Throws<NetworkException>(() => reading.GetAwaiter().GetResult());
        Assert.Equal(NetworkError.ConnectionReset, e.Error);
        Assert.Equal(TcpState.Closed, TcpNet.SocketOf(server).State);
        Assert.Throws<NetworkException>(() => client.WriteAsync(new byte[1]).AsTask().GetAwaiter().GetResult());
    }

    [Fact]
    public void Reset_InWindowButNotExact_ChallengeAckAndSurvives()
    {
        var net = TcpNet.Create(16, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        var socket = TcpNet.SocketOf(server);
        var sentBefore = net.B.TcpLayer.Stats.SegmentsSent;

        // RFC 5961 §3.2: a blind reset that guesses a sequence number inside the window only earns an ACK.
        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(client.LocalEndpoint.Port, 80, socket.ReceiveNext + 1000, default, TcpFlags.Rst, 0));
        net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(100));

        Assert.Equal(TcpState.Established, socket.State);
        Assert.Equal(1, net.B.TcpLayer.Stats.ChallengeAcks);
        Assert.True(net.B.TcpLayer.Stats.SegmentsSent > sentBefore);

        // The exact sequence number resets.
        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(client.LocalEndpoint.Port, 80, socket.ReceiveNext, default, TcpFlags.Rst, 0));
        Assert.Equal(TcpState.Closed, socket.State);
        Assert.Equal(NetworkError.ConnectionReset, socket.Error);
    }

    [Fact]
    public void Reset_OutsideWindow_Ignored()
    {
        var net = TcpNet.Create(17, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        var socket = TcpNet.SocketOf(server);

        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(client.LocalEndpoint.Port, 80, socket.ReceiveNext + 10_000_000, default, TcpFlags.Rst, 0));

        Assert.Equal(TcpState.Established, socket.State);
        Assert.Equal(0, net.B.TcpLayer.Stats.ChallengeAcks);
    }

    [Fact]
    public void Syn_OnEstablished_ChallengeAckNotReset()
    {
        var net = TcpNet.Create(18, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        var socket = TcpNet.SocketOf(server);

        // RFC 5961 §4: a SYN in a synchronized state, even in the window, must not tear the connection down.
        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(client.LocalEndpoint.Port, 80, socket.ReceiveNext + 5, default, TcpFlags.Syn, 1000));
        net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(100));

        Assert.Equal(TcpState.Established, socket.State);
        Assert.Equal(TcpState.Established, TcpNet.SocketOf(client).State);
        Assert.Equal(1, net.B.TcpLayer.Stats.ChallengeAcks);
    }

    [Fact]
    public void Ack_ForDataNeverSent_DroppedWithAck()
    {
        var net = TcpNet.Create(19, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        var socket = TcpNet.SocketOf(server);
        var una = socket.SendUnacknowledged;

        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(client.LocalEndpoint.Port, 80, socket.ReceiveNext, una + 50_000, TcpFlags.Ack, 1000));

        Assert.Equal(una, socket.SendUnacknowledged);
        Assert.Equal(TcpState.Established, socket.State);
    }

    [Fact]
    public void Segment_ForNoConnection_ResetWithRightNumbers()
    {
        var net = TcpNet.Create(20, s_lan);
        // An ACK-bearing stray gets <SEQ=SEG.ACK><CTL=RST>; the other kind gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(4000, 9, new SeqNum(100), new SeqNum(777), TcpFlags.Ack, 1000));
        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(4000, 9, new SeqNum(100), default, TcpFlags.Fin, 1000, PayloadLength: 3), "abc"u8);
        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(4000, 9, new SeqNum(100), default, TcpFlags.Rst, 1000));

        Assert.Equal(2, net.B.TcpLayer.Stats.ResetsSent);
    }

    [Fact]
    public void SimultaneousOpen_BothConnect_BothEstablished()
    {
        var net = TcpNet.Create(21, s_lan);
        var tcpA = (DirectTcp)net.A.Tcp;
        var tcpB = (DirectTcp)net.B.Tcp;

        var a = tcpA.ConnectAsync(new Ipv4Endpoint(TcpNet.AddressB, 6000), 5000, default).AsTask();
        var b = tcpB.ConnectAsync(new Ipv4Endpoint(TcpNet.AddressA, 5000), 6000, default).AsTask();
        var ca = net.Run(a, Duration.FromSeconds(10));
        var cb = net.Run(b, Duration.FromSeconds(10));

        Assert.Equal(TcpState.Established, TcpNet.SocketOf(ca).State);
        Assert.Equal(TcpState.Established, TcpNet.SocketOf(cb).State);
        var hello = ca.WriteAsync("hello"u8.ToArray()).AsTask();
        byte[] buffer = new byte[10];
        int n = net.Run(cb.ReadAsync(buffer).AsTask(), Duration.FromSeconds(5));
        Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
    }

    [Fact]
    public void SimultaneousClose_BothShutdown_ClosingThenTimeWait()
    {
        var net = TcpNet.Create(22, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));

        client.ShutdownWriteAsync();
        server.ShutdownWriteAsync();
        var endA = TcpNet.ReadToEnd(client, 0);
        var endB = TcpNet.ReadToEnd(server, 0);
        net.Run(Task.WhenAll(endA, endB), Duration.FromSeconds(5));
        net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(200));

        Assert.Equal(TcpState.TimeWait, TcpNet.SocketOf(client).State);
        Assert.Equal(TcpState.TimeWait, TcpNet.SocketOf(server).State);
        Assert.Equal(1, net.A.TcpLayer.TimeWaitCount);
        Assert.Equal(1, net.B.TcpLayer.TimeWaitCount);

        // 2 MSL later both are gone.
        net.Network.RunUntil(net.Network.Now + Duration.FromSeconds(61));
        Assert.Equal(0, net.A.TcpLayer.ConnectionCount);
        Assert.Equal(0, net.B.TcpLayer.ConnectionCount);
    }

    [Fact]
    public void Close_Graceful_ClientTimeWaitServerClosed()
    {
        var net = TcpNet.Create(23, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));

        client.ShutdownWriteAsync();
        int eof = net.Run(server.ReadAsync(new byte[1]).AsTask(), Duration.FromSeconds(5));
        Assert.Equal(0, eof);
        net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(100));
        Assert.Equal(TcpState.CloseWait, TcpNet.SocketOf(server).State);
        Assert.Equal(TcpState.FinWait2, TcpNet.SocketOf(client).State);

        // Half-close: the server can still send after the client's FIN.
        server.WriteAsync("late"u8.ToArray());
        byte[] buffer = new byte[10];
        int n = net.Run(client.ReadAsync(buffer).AsTask(), Duration.FromSeconds(5));
        Assert.Equal("late", System.Text.Encoding.ASCII.GetString(buffer, 0, n));

        server.DisposeAsync();
        Assert.Equal(0, net.Run(client.ReadAsync(buffer).AsTask(), Duration.FromSeconds(5)));
        net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(100));
        Assert.Equal(TcpState.TimeWait, TcpNet.SocketOf(client).State);
        Assert.Equal(0, net.B.TcpLayer.ConnectionCount);
        Assert.Equal(0, net.B.TcpLayer.BufferBytes);
    }

    [Fact]
    public void Dispose_WithUnreadData_SendsReset()
    {
        var net = TcpNet.Create(24, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        client.WriteAsync("unread"u8.ToArray());
        net.Network.RunUntil(() => TcpNet.SocketOf(server).Readable == 6, Duration.FromSeconds(5));

        server.DisposeAsync();
        var reading = client.ReadAsync(new byte[10]).AsTask();
        net.Network.RunUntil(() => reading.IsCompleted, Duration.FromSeconds(5));

        Assert.Equal(NetworkError.ConnectionReset, Assert.Throws<NetworkException>(() => reading.GetAwaiter().GetResult()).Error);
        Assert.Equal(0, net.B.TcpLayer.ConnectionCount);
    }

    [Fact]
    public void ZeroWindow_ReaderStalls_ProbesThenCompletesByteExact()
    {
        var small = new TcpSettings { ReceiveBufferSize = 16 * 1024, SendBufferSize = 16 * 1024 };
        var net = TcpNet.Create(25, s_lan, small, small);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        byte[] data = TcpNet.RandomBytes(200_000, 3);

        var sending = TcpNet.WriteAllAndClose(client, data, chunk: 50_000);
        net.Network.RunUntil(net.Network.Now + Duration.FromSeconds(20));

        Assert.False(sending.IsCompleted);
        Assert.Equal(16 * 1024, TcpNet.SocketOf(server).Readable);
        Assert.True(net.A.TcpLayer.Stats.WindowProbesSent > 0, "no zero-window probe in 20 s");
        Assert.Equal(0, net.A.TcpLayer.Stats.Timeouts);

        byte[] received = net.Run(TcpNet.ReadToEnd(server, data.Length), Duration.FromSeconds(120));
        Assert.Equal(data, received);
    }

    [Fact]
    public void KeepAlive_IdlePeerAlive_ProbesAnsweredConnectionStays()
    {
        var keepAlive = new TcpSettings { KeepAlive = true, KeepAliveIdle = Duration.FromSeconds(10), KeepAliveInterval = Duration.FromSeconds(1), KeepAliveProbes = 3 };
        var net = TcpNet.Create(26, s_lan, keepAlive);
        var (client, _) = net.Connect(net.B.Tcp.Listen(80));

        net.Network.RunUntil(net.Network.Now + Duration.FromSeconds(60));

        Assert.InRange(net.A.TcpLayer.Stats.KeepAlivesSent, 5, 6);
        Assert.Equal(TcpState.Established, TcpNet.SocketOf(client).State);
    }

    [Fact]
    public void KeepAlive_PeerGone_TimesOut()
    {
        var keepAlive = new TcpSettings { KeepAlive = true, KeepAliveIdle = Duration.FromSeconds(10), KeepAliveInterval = Duration.FromSeconds(1), KeepAliveProbes = 3 };
        var net = TcpNet.Create(27, s_lan, keepAlive);
        var (client, _) = net.Connect(net.B.Tcp.Listen(80));
        var reading = client.ReadAsync(new byte[10]).AsTask();

        net.Cut();
        var start = net.Network.Now;
        net.Network.RunUntil(() => reading.IsCompleted, Duration.FromSeconds(60));

        Assert.Equal(NetworkError.TimedOut, Assert.Throws<NetworkException>(() => reading.GetAwaiter().GetResult()).Error);
        Assert.Equal(3, net.A.TcpLayer.Stats.KeepAlivesSent);
        Assert.InRange((net.Network.Now - start).TotalMilliseconds, 12_000, 14_000);
    }

    [Fact]
    public void Retransmission_LinkCut_BacksOffThenTimesOut()
    {
        var settings = new TcpSettings { MaxRetransmissions = 5 };
        var net = TcpNet.Create(28, s_lan, settings);
        var (client, _) = net.Connect(net.B.Tcp.Listen(80));
        net.Cut();
        var start = net.Network.Now;

        client.WriteAsync(new byte[1000]);
        var reading = client.ReadAsync(new byte[10]).AsTask();
        net.Network.RunUntil(() => reading.IsCompleted, Duration.FromSeconds(120));

        Assert.Equal(NetworkError.TimedOut, Assert.Throws<NetworkException>(() => reading.GetAwaiter().GetResult()).Error);
        Assert.Equal(6, net.A.TcpLayer.Stats.Timeouts);
        // 200 ms, doubled five times: 0.2 + 0.4 + 0.8 + 1.6 + 3.2 + 6.4 s.
        Assert.InRange((net.Network.Now - start).TotalMilliseconds, 12_000, 13_500);
    }

    [Fact]
    public void Rto_AfterSamplesOnFastLink_IsTheMinimum()
    {
        var net = TcpNet.Create(29, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        var sending = TcpNet.WriteAllAndClose(client, new byte[100_000]);
        net.Run(TcpNet.ReadToEnd(server, 100_000), Duration.FromSeconds(10));

        Assert.Equal(Duration.FromMilliseconds(200), TcpNet.SocketOf(client).RetransmissionTimeout);
    }

    [Fact]
    public void DelayedAck_BulkTransfer_AboutOneAckPerTwoSegments()
    {
        var net = TcpNet.Create(30, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        long sentA = net.A.TcpLayer.Stats.SegmentsSent, sentB = net.B.TcpLayer.Stats.SegmentsSent;

        var sending = TcpNet.WriteAllAndClose(client, new byte[1 << 20]);
        net.Run(TcpNet.ReadToEnd(server, 1 << 20), Duration.FromSeconds(10));

        long data = net.A.TcpLayer.Stats.SegmentsSent - sentA;
        long acks = net.B.TcpLayer.Stats.SegmentsSent - sentB;
        Assert.InRange(acks, data / 3, data * 2 / 3);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Nagle_ManySmallWrites_CoalescedUnlessNoDelay(bool noDelay)
    {
        var net = TcpNet.Create(31, new LinkConditions(Latency: Duration.FromMilliseconds(20)));
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        ((DirectTcpConnection)client).NoDelay = noDelay;
        long before = net.A.TcpLayer.Stats.SegmentsSent;

        var writes = WriteBytesOneByOne(client, net, 50);
        var received = TcpNet.ReadToEnd(server, 50);
        net.Run(writes, Duration.FromSeconds(10));
        client.ShutdownWriteAsync();
        Assert.Equal(50, net.Run(received, Duration.FromSeconds(10)).Length);

        long segments = net.A.TcpLayer.Stats.SegmentsSent - before;
        if (noDelay)
        {
            Assert.True(segments >= 50, $"{segments} segments for 50 one-byte writes with no-delay");
        }
        else
        {
            Assert.True(segments < 15, $"{segments} segments for 50 one-byte writes with Nagle");
        }
    }

    private static async Task WriteBytesOneByOne(ITcpConnection connection, TcpNet net, int count)
    {
        for (int i = 0; i < count; i++)
        {
            await connection.WriteAsync(new[] { (byte)i }).ConfigureAwait(false);
            // Let a millisecond of virtual time pass between writes.
            await net.Network.Clock.SleepAsync(Duration.FromMilliseconds(1)).ConfigureAwait(false);
        }
    }

    [Fact]
    public void DisposeStack_PendingReadAndAccept_FailClosed()
    {
        var net = TcpNet.Create(32, s_lan);
        var listener = net.B.Tcp.Listen(80);
        var (client, _) = net.Connect(listener);
        var reading = client.ReadAsync(new byte[10]).AsTask();
        var listenerA = net.A.Tcp.Listen(90);
        var accepting = listenerA.AcceptAsync().AsTask();

        Assert.True(net.A.DisposeAsync().IsCompletedSuccessfully);

        Assert.Equal(NetworkError.Closed, Assert.Throws<NetworkException>(() => reading.GetAwaiter().GetResult()).Error);
        Assert.Equal(NetworkError.Closed, Assert.Throws<NetworkException>(() => accepting.GetAwaiter().GetResult()).Error);
        Assert.Equal(0, net.A.TcpLayer.ConnectionCount);
        Assert.Equal(0, net.A.TcpLayer.BufferBytes);
    }

    [Fact]
    public void ChallengeAcks_BlindFlood_RateLimited()
    {
        var net = TcpNet.Create(33, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        var socket = TcpNet.SocketOf(server);
        long sentBefore = net.B.TcpLayer.Stats.SegmentsSent;

        // 1000 in-window resets with wrong sequence numbers within one millisecond.
        for (int i = 1; i <= 1000; i++)
        {
            net.Inject(net.B, TcpNet.AddressA, new TcpRepr(client.LocalEndpoint.Port, 80, socket.ReceiveNext + i, default, TcpFlags.Rst, 0));
            net.Network.RunUntil(net.Network.Now + Duration.FromMicroseconds(1));
        }

        Assert.Equal(1000, net.B.TcpLayer.Stats.ChallengeAcks);
        Assert.InRange(net.B.TcpLayer.Stats.SegmentsSent - sentBefore, 100, 101);
        Assert.Equal(TcpState.Established, socket.State);
    }

    [Fact]
    public void KeepAlive_DataOutstandingToDeadPeer_RetransmissionTimerDecides()
    {
        var keepAlive = new TcpSettings
        {
            KeepAlive = true, KeepAliveIdle = Duration.FromSeconds(1), KeepAliveInterval = Duration.FromSeconds(1), KeepAliveProbes = 3,
            MaxRetransmissions = 4,
        };
        var net = TcpNet.Create(34, s_lan, keepAlive);
        var (client, _) = net.Connect(net.B.Tcp.Listen(80));
        net.Cut();

        // Data stays unacknowledged for longer than the keep-alive idle time: no probes, and no timer stuck in the past.
        client.WriteAsync(new byte[5000]);
        var reading = client.ReadAsync(new byte[1]).AsTask();
        net.Network.RunUntil(() => reading.IsCompleted, Duration.FromSeconds(60));

        Assert.Equal(NetworkError.TimedOut, Assert.Throws<NetworkException>(() => reading.GetAwaiter().GetResult()).Error);
        Assert.Equal(0, net.A.TcpLayer.Stats.KeepAlivesSent);
        Assert.Equal(5, net.A.TcpLayer.Stats.Timeouts);
    }

    [Fact]
    public void TimeWait_NewSynFromSameTuple_ReopensConnection()
    {
        var net = TcpNet.Create(35, s_lan);
        var listener = net.B.Tcp.Listen(80);
        var tcpA = (DirectTcp)net.A.Tcp;
        var first = net.Run(tcpA.ConnectAsync(new Ipv4Endpoint(TcpNet.AddressB, 80), 40000, default).AsTask(), Duration.FromSeconds(5));
        var server = net.Run(listener.AcceptAsync().AsTask(), Duration.FromSeconds(5));

        // The server closes first, so the server side ends in TIME-WAIT.
        server.DisposeAsync();
        net.Run(TcpNet.ReadToEnd(first, 0), Duration.FromSeconds(5));
        first.DisposeAsync();
        net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(100));
        Assert.Equal(1, net.B.TcpLayer.TimeWaitCount);

        var again = tcpA.ConnectAsync(new Ipv4Endpoint(TcpNet.AddressB, 80), 40000, default).AsTask();
        var second = net.Run(again, Duration.FromSeconds(5));
        var accepted = net.Run(listener.AcceptAsync().AsTask(), Duration.FromSeconds(5));

        Assert.Equal(TcpState.Established, TcpNet.SocketOf(accepted).State);
        Assert.Equal(40000, accepted.RemoteEndpoint.Port);
        Assert.Equal(0, net.B.TcpLayer.TimeWaitCount);
    }
}
