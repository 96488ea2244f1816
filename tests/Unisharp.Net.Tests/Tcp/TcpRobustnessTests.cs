using Unisharp.Net.Tcp;
using Unisharp.Net.Tests.Simulation;
using Unisharp.Net.Wire;
using Unisharp.Simulation;
using Xunit.Abstractions;

namespace Unisharp.Net.Tests.Tcp;

/// <summary>
/// Issue 14's robustness items in the simulator: SYN floods answered with cookies, out-of-order data held by memory
/// and SACKed, buffers given back at close and refused SYNs at the budget, the reset rate, and crafted segments.
/// </summary>
public class TcpRobustnessTests(ITestOutputHelper output)
{
    private static readonly LinkConditions s_lan = new(Latency: Duration.FromMilliseconds(5), BitsPerSecond: 100_000_000);

    /// <summary>A SYN from a random source outside the link (its SYN-ACK has no route, as spoofed SYNs' go nowhere).</summary>
    private static void InjectSpoofedSyn(TcpNet net, Random random, ushort port)
    {
        var source = new Ipv4Address(0xC6130000u | (uint)random.Next(1, 0xFFFF));
        var syn = new TcpRepr((ushort)random.Next(1024, 65535), port, new SeqNum((uint)random.Next()), default, TcpFlags.Syn, 64240,
            MaxSegmentSize: 1460, WindowScale: 7, SackPermitted: true, Timestamp: new TcpTimestamp((uint)random.Next(), 0));
        net.Inject(net.B, source, syn);
    }

    /// <summary>Echoes every connection the listener accepts, closing after the peer's FIN (as examples/echo does).</summary>
    internal static async Task Serve(ITcpListener listener)
    {
        while (true)
        {
            var connection = await listener.AcceptAsync();
            _ = Echo(connection);
        }
    }

    internal static async Task Echo(ITcpConnection connection)
    {
        await using (connection)
        {
            byte[] buffer = new byte[16 * 1024];
            int n;
            while ((n = await connection.ReadAsync(buffer)) > 0)
            {
                await connection.WriteAsync(buffer.AsMemory(0, n));
            }
            await connection.CloseAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>A client: connects, sends <paramref name="data"/>, and returns what came back once the server closed.</summary>
    private static async Task<byte[]> EchoClient(DirectStack stack, byte[] data)
    {
        await using var connection = await stack.Tcp.ConnectAsync(new Ipv4Endpoint(TcpNet.AddressB, 80));
        var reading = TcpNet.ReadToEnd(connection, data.Length);
        await TcpNet.WriteAllAndClose(connection, data);
        return await reading;
    }

    [Fact]
    public void SynFlood_RandomSourcesInterleavedWithClients_EveryClientConnectsAndTransfers()
    {
        var net = TcpNet.Create(50, s_lan);
        var listener = net.B.Tcp.Listen(80, backlog: 64);
        _ = Serve(listener);
        var random = new Random(50);
        var clients = new List<(byte[] Data, Task<byte[]> Echo)>();

        for (int round = 0; round < 40; round++)
        {
            for (int i = 0; i < 500; i++)
            {
                InjectSpoofedSyn(net, random, 80);
            }
            byte[] data = TcpNet.RandomBytes(20_000 + round, round);
            clients.Add((data, EchoClient(net.A, data)));
            net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(50));
            Assert.InRange(net.B.TcpLayer.HalfOpenCount, 0, new TcpSettings().MaxHalfOpen);
        }
        net.Network.RunUntil(() => clients.TrueForAll(c => c.Echo.IsCompleted), Duration.FromSeconds(30));

        foreach (var (data, echo) in clients)
        {
            Assert.True(echo.IsCompletedSuccessfully, $"a client failed: {echo.Exception?.InnerException?.Message ?? "not done"}");
            Assert.True(data.AsSpan().SequenceEqual(net.Run(echo, Duration.FromMilliseconds(1))), "the echo differs");
        }
        var stats = net.B.TcpLayer.Stats;
        output.WriteLine($"{stats.SynCookiesSent} cookies sent, {stats.SynCookiesAccepted} accepted, {stats.SynCookiesFailed} failed");
        Assert.True(stats.SynCookiesSent >= 40 * 500 - 256 - 40);
        // The half-open table was full all along: the clients came in through cookies, and none was reset.
        Assert.True(stats.SynCookiesAccepted >= 39, $"{stats.SynCookiesAccepted} connections from cookies");
        Assert.Equal(0, net.A.TcpLayer.Stats.ResetsReceived);
        Assert.Equal(0, stats.ResetsSent);
    }

    [Fact]
    public void SynCookie_ClientWithOptions_WindowScaleSackAndTimestampsKept()
    {
        var net = TcpNet.Create(51, s_lan, settingsB: new TcpSettings { MaxHalfOpen = 1 });
        var listener = net.B.Tcp.Listen(80);
        InjectSpoofedSyn(net, new Random(51), 80);

        var (client, server) = net.Connect(listener);

        Assert.Equal(1, net.B.TcpLayer.Stats.SynCookiesAccepted);
        var ours = TcpNet.SocketOf(server);
        var theirs = TcpNet.SocketOf(client);
        Assert.True(ours.SackEnabled && theirs.SackEnabled);
        Assert.True(ours.TimestampsEnabled && theirs.TimestampsEnabled);
        Assert.Equal(theirs.ReceiveWindowShift, ours.SendWindowShift);
        Assert.Equal(ours.ReceiveWindowShift, theirs.SendWindowShift);
        Assert.Equal(1460 - 12, ours.SendMss);
        byte[] data = TcpNet.RandomBytes(1 << 20, 51);
        var receiving = TcpNet.ReadToEnd(server, data.Length);
        _ = TcpNet.WriteAllAndClose(client, data);
        Assert.Equal(data, net.Run(receiving, Duration.FromSeconds(30)));
    }

    [Fact]
    public void SynCookie_SynWithoutTimestamps_ConnectionWithoutScalingOrSack()
    {
        var net = TcpNet.Create(63, s_lan, settingsB: new TcpSettings { MaxHalfOpen = 1 });
        var listener = net.B.Tcp.Listen(80);
        InjectSpoofedSyn(net, new Random(63), 80);
        TcpRepr? synAck = null;
        net.Network.Observer = (_, source, frame) =>
        {
            if (source == net.DeviceB && TryParseTcp(frame, out var seg) && seg.DestinationPort == 40100 && seg.Has(TcpFlags.Syn))
            {
                synAck = seg;
            }
        };

        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(40100, 80, new SeqNum(1000), default, TcpFlags.Syn, 8000, MaxSegmentSize: 1400,
            WindowScale: 7, SackPermitted: true));
        // B resolves A first, then the SYN-ACK crosses its link.
        net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(100));

        // Nothing could carry window scaling or SACK back without timestamps: neither is offered.
        var answer = Assert.NotNull(synAck);
        Assert.Equal(1, net.B.TcpLayer.Stats.SynCookiesSent);
        Assert.Equal((null, false, null), (answer.WindowScale, answer.SackPermitted, answer.Timestamp));
        Assert.Equal(new SeqNum(1001), answer.AckNumber);
        var accept = listener.AcceptAsync().AsTask();
        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(40100, 80, new SeqNum(1001), answer.SequenceNumber + 1, TcpFlags.Ack | TcpFlags.Psh, 8000,
            PayloadLength: 5), "hello"u8);
        var server = TcpNet.SocketOf(net.Run(accept, Duration.FromMilliseconds(1)));

        Assert.Equal(TcpState.Established, server.State);
        Assert.Equal(1400, server.SendMss);
        Assert.Equal((0, false, false), (server.SendWindowShift, server.SackEnabled, server.TimestampsEnabled));
        Assert.Equal(5, server.Readable);
    }

    /// <summary>
    /// The handshake's ACK and the first data segment are lost under a flood: the second segment's sequence number
    /// does not give the peer's ISN, so its cookie fails. It is dropped without a reset, and the retransmitted first
    /// segment makes the connection.
    /// </summary>
    [Fact]
    public void SynCookie_FirstSegmentsLost_LaterSegmentDroppedSilentlyThenRetransmissionConnects()
    {
        var net = TcpNet.Create(64, s_lan, settingsB: new TcpSettings { MaxHalfOpen = 1 });
        var listener = net.B.Tcp.Listen(80);
        InjectSpoofedSyn(net, new Random(64), 80);
        TcpRepr? synAck = null;
        int resets = 0;
        net.Network.Observer = (_, source, frame) =>
        {
            if (source == net.DeviceB && TryParseTcp(frame, out var seg) && seg.DestinationPort == 40100)
            {
                synAck ??= seg.Has(TcpFlags.Syn) ? seg : null;
                resets += seg.Has(TcpFlags.Rst) ? 1 : 0;
            }
        };
        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(40100, 80, new SeqNum(1000), default, TcpFlags.Syn, 8000, MaxSegmentSize: 1400));
        net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(100));
        var answer = Assert.NotNull(synAck);
        Assert.Equal(1, net.B.TcpLayer.Stats.SynCookiesSent);

        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(40100, 80, new SeqNum(1006), answer.SequenceNumber + 1, TcpFlags.Ack | TcpFlags.Psh, 8000,
            PayloadLength: 5), "world"u8);
        net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(100));
        Assert.Equal((0, 1L), (resets, net.B.TcpLayer.Stats.SynCookiesFailed));

        var accept = listener.AcceptAsync().AsTask();
        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(40100, 80, new SeqNum(1001), answer.SequenceNumber + 1, TcpFlags.Ack | TcpFlags.Psh, 8000,
            PayloadLength: 5), "hello"u8);
        var server = TcpNet.SocketOf(net.Run(accept, Duration.FromMilliseconds(1)));
        Assert.Equal(TcpState.Established, server.State);
        Assert.Equal(5, server.Readable);
        Assert.Equal(0, resets);
    }

    [Fact]
    public void SynCookie_ForgedAck_NoConnectionMade()
    {
        var net = TcpNet.Create(52, s_lan, settingsB: new TcpSettings { MaxHalfOpen = 1 });
        net.B.Tcp.Listen(80);
        var random = new Random(52);
        InjectSpoofedSyn(net, random, 80);
        InjectSpoofedSyn(net, random, 80);
        Assert.Equal(1, net.B.TcpLayer.Stats.SynCookiesSent);

        for (int i = 0; i < 1000; i++)
        {
            var ack = new TcpRepr(40000, 80, new SeqNum((uint)random.Next()), new SeqNum((uint)random.Next()), TcpFlags.Ack, 1000);
            net.Inject(net.B, Ipv4Address.Parse("198.19.1.1"), ack);
        }

        Assert.Equal(1000, net.B.TcpLayer.Stats.SynCookiesFailed);
        Assert.Equal(0, net.B.TcpLayer.Stats.SynCookiesAccepted);
        Assert.Equal(1, net.B.TcpLayer.ConnectionCount);
    }

    [Fact]
    public void Cookies_OldOrForeign_Refused()
    {
        var cookies = new TcpSynCookies(1, 2);
        var local = new Ipv4Endpoint(TcpNet.AddressB, 80);
        var remote = new Ipv4Endpoint(TcpNet.AddressA, 40000);
        var syn = new TcpRepr(40000, 80, new SeqNum(1000), default, TcpFlags.Syn, 1000, MaxSegmentSize: 1400);
        var at = Instant.FromMilliseconds(1_000_000);
        var iss = cookies.Isn(local, remote, syn, at);
        var ack = new TcpRepr(40000, 80, new SeqNum(1001), iss + 1, TcpFlags.Ack, 1000, Timestamp: new TcpTimestamp(9, TcpSynCookies.Timestamp(12345, 3, true)));

        Assert.True(cookies.TryOpen(local, remote, ack, at + Duration.FromSeconds(50), out var rebuilt));
        Assert.Equal((ushort)1400, rebuilt.MaxSegmentSize);
        Assert.Equal((byte)3, rebuilt.WindowScale);
        Assert.True(rebuilt.SackPermitted);
        Assert.Equal(new SeqNum(1000), rebuilt.SequenceNumber);
        Assert.False(cookies.TryOpen(local, remote, ack, at + Duration.FromSeconds(200), out _));
        Assert.False(cookies.TryOpen(local, remote with { Port = 40001 }, ack with { SourcePort = 40001 }, at, out _));
        Assert.False(cookies.TryOpen(local, remote, ack with { SequenceNumber = new SeqNum(1002) }, at, out _));
        Assert.False(new TcpSynCookies(1, 3).TryOpen(local, remote, ack, at, out _));
        Assert.True(TcpSynCookies.Timestamp(12345, 3, true) <= 12345);
    }

    [Fact]
    public void OutOfOrder_64Holes_AllHeldAndEachSacked()
    {
        var net = TcpNet.Create(53, s_lan);
        var listener = net.B.Tcp.Listen(80);
        var (client, server) = net.Connect(listener);
        var socket = TcpNet.SocketOf(server);
        var sacks = new List<TcpSackBlocks>();
        net.Network.Observer = (_, source, frame) =>
        {
            if (source == net.DeviceB && TryParseTcp(frame, out var seg) && seg.SackBlocks.Count > 0)
            {
                sacks.Add(seg.SackBlocks);
            }
        };
        var rcvNxt = socket.ReceiveNext;
        byte[] data = TcpNet.RandomBytes(64 * 200, 53);
        void Send(int offset, int length)
        {
            var seg = new TcpRepr(client.LocalEndpoint.Port, 80, rcvNxt + offset, socket.SendNext, TcpFlags.Ack, 1000,
                Timestamp: new TcpTimestamp(socket.TimestampRecent + 1, 0), PayloadLength: length);
            net.Inject(net.B, TcpNet.AddressA, seg, data.AsSpan(offset, length));
            // Long enough for B's ACK to cross its link to the switch (5 ms).
            net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(6));
        }

        // 64 holes: bytes 0-99 of every 200 missing.
        for (int k = 0; k < 64; k++)
        {
            Send(200 * k + 100, 100);
            Assert.True(sacks.Count > 0, $"no SACK: {socket.ReceiveBufferRanges} ranges, {net.B.TcpLayer.Stats.SegmentsSent} sent, {socket.State}, frames {net.DeviceB.FramesTransmitted}");
            Assert.Equal(rcvNxt + (200 * k + 100), sacks[^1][0].Left);
        }
        Assert.Equal(64, socket.ReceiveBufferRanges);
        // Then a repeat of the first range, again and again: it leads; the rotating slot goes round all the others.
        var reported = new HashSet<SeqNum>();
        for (int k = 0; k < 64; k++)
        {
            Send(100, 100);
            Assert.Equal(rcvNxt + 100, sacks[^1][0].Left);
            for (int b = 0; b < sacks[^1].Count; b++)
            {
                reported.Add(sacks[^1][b].Left);
            }
        }
        Assert.Equal(64, reported.Count);

        // The holes fill in reverse: everything becomes readable in order.
        for (int k = 63; k >= 0; k--)
        {
            Send(200 * k, 100);
        }
        Assert.Equal(rcvNxt + data.Length, socket.ReceiveNext);
        byte[] read = new byte[data.Length];
        Assert.Equal(data.Length, socket.Receive(read));
        Assert.Equal(data, read);
    }

    [Fact]
    public void ReceiveBuffer_Ranges_ScaleWithCapacity()
    {
        var small = new TcpReceiveBuffer(4096);
        var large = new TcpReceiveBuffer(256 * 1024);

        Assert.Equal(TcpReceiveBuffer.MinRanges, small.MaxRanges);
        Assert.Equal(256, large.MaxRanges);
        for (int i = 0; i < 256; i++)
        {
            Assert.Equal(0, large.Write(2 + 4 * i, "x"u8));
        }
        Assert.Equal(256, large.RangeCount);
        Assert.Equal(-1, large.Write(2000, "y"u8));
    }

    /// <summary>
    /// Issue 14: 10% loss each way with 5% reordering and 5% duplication (the unix target's
    /// <c>--net-fault drop=0.1,reorder=0.05,duplicate=0.05</c>): 64 MiB byte-exact, with no stall (a time without a
    /// new cumulative ACK) longer than two RTOs at the 200 ms floor.
    /// </summary>
    [Theory]
    [InlineData(54UL)]
    [InlineData(55UL)]
    public void Transfer_TenPercentLossWithReordering_64MiBByteExactStallsBounded(ulong seed)
    {
        var lossy = new LinkConditions(Loss: 0.1, Duplicate: 0.05, Reorder: 0.05, Latency: Duration.FromMilliseconds(1), BitsPerSecond: 1_000_000_000);
        var net = TcpNet.Create(seed, lossy);
        const int length = 64 << 20;
        var lastProgress = Instant.Zero;
        var longest = Duration.Zero;
        var highestAck = default(SeqNum);
        bool started = false;
        PcapOnFailure.Run(net.Network, () =>
        {
            byte[] data = TcpNet.RandomBytes(length, 54);
            var listener = net.B.Tcp.Listen(80);
            var (client, server) = net.Connect(listener);
            // The trace: the receiver's cumulative ACKs as they reach the switch; a stall is a time without a new one.
            net.Network.Observer = (now, source, frame) =>
            {
                if (source != net.DeviceB || !TryParseTcp(frame, out var seg) || !seg.Has(TcpFlags.Ack))
                {
                    return;
                }
                if (!started || seg.AckNumber > highestAck)
                {
                    if (started)
                    {
                        longest = Duration.Max(longest, now - lastProgress);
                    }
                    started = true;
                    highestAck = seg.AckNumber;
                    lastProgress = now;
                }
            };
            var start = net.Network.Now;
            var receiving = TcpNet.ReadToEnd(server, length);
            _ = TcpNet.WriteAllAndClose(client, data, chunk: 1 << 20);
            byte[] received = net.Run(receiving, Duration.FromSeconds(300));
            double seconds = (net.Network.Now - start).Microseconds / 1e6;
            var sender = TcpNet.SocketOf(client);
            output.WriteLine($"{length} bytes in {seconds:F1} s of virtual time ({length / seconds / 1e6:F2} MB/s); longest stall "
                + $"{longest.Microseconds / 1000} ms; {sender.Timeouts} timeouts, {sender.SackRecoveries} SACK recoveries "
                + $"({sender.ReorderTimeouts} by the reordering timer), {sender.TailLossProbes} probes, {sender.LostRetransmissions} lost "
                + $"retransmissions, RTO now {sender.RetransmissionTimeout.Microseconds / 1000} ms");

            Assert.True(data.AsSpan().SequenceEqual(received), "the bytes differ");
            // Before RACK's reordering timer and repeated probes: 159-167 s, 299-339 timeouts, and a longest stall of
            // 3.4-6.2 s (timeouts in a row: a retransmission or its ACK lost again at 10% each way); after: 57-59 s,
            // 1-3 timeouts, a longest stall of 174-206 ms.
            Assert.True(seconds < 100, $"{seconds:F1} s of virtual time");
            Assert.True(longest <= Duration.FromMilliseconds(400), $"the transfer stalled for {longest.Microseconds / 1000} ms (two RTOs: 400 ms)");
        });
    }

    [Fact]
    public void Churn_5000ConnectionsOverTheBudget_AllSucceedAndMemoryBackToBaseline()
    {
        // The server's budget holds 32 connections at once; 100 clients at a time go over it.
        var server = new TcpSettings { SendBufferSize = 64 * 1024, ReceiveBufferSize = 64 * 1024, MaxBufferBytes = 32 * 128 * 1024 };
        // Few TIME-WAITs on the client: every step polls every connection, and the client's are not what is tested.
        var client = new TcpSettings { SendBufferSize = 16 * 1024, ReceiveBufferSize = 16 * 1024, MaxTimeWait = 64 };
        var net = TcpNet.Create(55, s_lan, client, server);
        var listener = net.B.Tcp.Listen(80, backlog: 256);
        _ = Serve(listener);
        long peak = 0;
        net.Network.Observer = (_, _, _) => peak = Math.Max(peak, net.B.TcpLayer.BufferBytes);
        int started = 0, done = 0;
        var failures = new List<string>();

        async Task Loop()
        {
            while (started < 5000)
            {
                int i = started++;
                byte[] data = TcpNet.RandomBytes(100 + i % 500, i);
                try
                {
                    byte[] echo = await EchoClient(net.A, data);
                    if (!data.AsSpan().SequenceEqual(echo))
                    {
                        failures.Add($"{i}: the echo differs");
                    }
                }
                catch (NetworkException e)
                {
                    failures.Add($"{i}: {e.Message}");
                }
                done++;
            }
        }
        var loops = Enumerable.Range(0, 100).Select(_ => Loop()).ToList();
        net.Network.RunUntil(() => done == 5000, Duration.FromSeconds(600));
        // The last FINs and ACKs.
        net.Network.RunUntil(net.Network.Now + Duration.FromSeconds(1));
        var stats = net.B.TcpLayer.Stats;
        output.WriteLine($"{done} done at {net.Network.Now}; {failures.Count} failures: {string.Join("; ", failures.Take(5))}; "
            + $"{stats.SynsDropped} SYNs dropped, {stats.ConnectionsRefusedForMemory} refused for memory, peak {peak} bytes");

        Assert.Equal(5000, done);
        Assert.Empty(failures);
        Assert.True(stats.SynsDropped + stats.ConnectionsRefusedForMemory > 0, "the budget was never reached");
        Assert.InRange(peak, 1, server.MaxBufferBytes);
        Assert.Equal(0, net.B.TcpLayer.Stats.ResetsSent);
        // Every connection closed: the budget's counter is back to nothing on both sides, TIME-WAIT included.
        Assert.True(net.A.TcpLayer.TimeWaitCount > 0);
        Assert.Equal(0, net.A.TcpLayer.BufferBytes);
        Assert.Equal(0, net.B.TcpLayer.BufferBytes);
    }

    [Fact]
    public void TimeWait_AppStillHoldsConnection_NoBuffers()
    {
        var net = TcpNet.Create(56, s_lan);
        var listener = net.B.Tcp.Listen(80);
        var (client, server) = net.Connect(listener);

        // The client closes first and reads the server's FIN: TIME-WAIT, with the connection not yet disposed.
        net.Run(client.ShutdownWriteAsync().AsTask(), Duration.FromSeconds(5));
        net.Run(TcpNet.ReadToEnd(server, 0), Duration.FromSeconds(5));
        net.Run(server.ShutdownWriteAsync().AsTask(), Duration.FromSeconds(5));
        net.Run(TcpNet.ReadToEnd(client, 0), Duration.FromSeconds(5));
        net.Network.RunUntil(net.Network.Now + Duration.FromSeconds(1));

        Assert.Equal(TcpState.TimeWait, TcpNet.SocketOf(client).State);
        Assert.False(TcpNet.SocketOf(client).HasBuffers);
        Assert.Equal(0, net.A.TcpLayer.BufferBytes);
        Assert.Equal(0, net.B.TcpLayer.BufferBytes);
    }

    [Fact]
    public void Scan_2000ClosedPorts_EveryOneResetWithinASecond()
    {
        var net = TcpNet.Create(57, s_lan);
        // Each side knows the other's MAC first (nmap's ARP exchange comes before its scan).
        net.Connect(net.B.Tcp.Listen(3000), 3000);
        int resets = 0;
        var last = Instant.Zero;
        net.Network.Observer = (now, source, frame) =>
        {
            if (source == net.DeviceB && TryParseTcp(frame, out var seg) && seg.Has(TcpFlags.Rst))
            {
                resets++;
                last = now;
            }
        };
        var start = net.Network.Now;

        // nmap -sS: a SYN to each port, sent over 100 ms.
        for (int port = 1; port <= 2000; port++)
        {
            var syn = new TcpRepr(50000, (ushort)port, new SeqNum(7), default, TcpFlags.Syn, 1024, MaxSegmentSize: 1460);
            net.Inject(net.B, TcpNet.AddressA, syn);
            if (port % 20 == 0)
            {
                net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(1));
            }
        }
        net.Network.RunUntil(net.Network.Now + Duration.FromSeconds(2));

        Assert.Equal(2000, resets);
        Assert.True(last - start < Duration.FromSeconds(1), $"the last reset went out after {last - start}");
        Assert.Equal(0, net.B.TcpLayer.Stats.ResetsRateLimited);
    }

    [Theory]
    [InlineData(0)]
    [InlineData((int)(TcpFlags.Fin | TcpFlags.Psh | TcpFlags.Urg))]
    [InlineData((int)TcpFlags.Fin)]
    public void Listener_SegmentWithoutSynOrAck_DroppedSilently(int bits)
    {
        var flags = (TcpFlags)bits;
        var net = TcpNet.Create(58, s_lan);
        net.B.Tcp.Listen(80);

        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(50000, 80, new SeqNum(7), default, flags, 1024));
        net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(100));

        Assert.Equal(0, net.B.TcpLayer.Stats.ResetsSent);
        Assert.Equal(1, net.B.TcpLayer.Stats.ListenerSegmentsDropped);
        Assert.Equal(0, net.B.TcpLayer.ConnectionCount);
    }

    [Fact]
    public void ClosedPort_NullSegment_StillReset()
    {
        var net = TcpNet.Create(59, s_lan);

        net.Inject(net.B, TcpNet.AddressA, new TcpRepr(50000, 81, new SeqNum(7), default, TcpFlags.None, 1024));

        Assert.Equal(1, net.B.TcpLayer.Stats.ResetsSent);
    }

    [Fact]
    public void Listener_SynWithMalformedOption_AcceptedOptionIgnored()
    {
        var net = TcpNet.Create(60, s_lan);
        net.B.Tcp.Listen(80);
        var syn = new TcpRepr(50000, 80, new SeqNum(7), default, TcpFlags.Syn, 1024, MaxSegmentSize: 1460, WindowScale: 7);
        byte[] bytes = new byte[syn.BufferLength];
        syn.Emit(bytes, default, TcpNet.AddressA, TcpNet.AddressB);
        // The window scale option (NOP, kind 3, length 3) claims length 2; the checksum is refilled.
        int ws = bytes.AsSpan(20).IndexOf((byte)TcpOptionKind.WindowScale) + 20;
        bytes[ws + 1] = 2;
        new TcpPacket(bytes).FillChecksum(TcpNet.AddressA, TcpNet.AddressB);

        net.B.TcpLayer.Process(new Ipv4Repr(TcpNet.AddressA, TcpNet.AddressB, IpProtocol.Tcp, bytes.Length), bytes, false, net.Network.Now);

        Assert.Equal(1, net.B.TcpLayer.HalfOpenCount);
        Assert.Equal(0, net.B.TcpLayer.Stats.MalformedSegments);
    }

    [Theory]
    [InlineData("198.18.0.255")]
    [InlineData("255.255.255.255")]
    [InlineData("224.0.0.1")]
    [InlineData("239.1.2.3")]
    [InlineData("0.0.0.0")]
    public void Listener_SynFromBroadcastOrMulticastSource_Dropped(string source)
    {
        var net = TcpNet.Create(61, s_lan);
        net.B.Tcp.Listen(80);

        net.Inject(net.B, Ipv4Address.Parse(source), new TcpRepr(50000, 80, new SeqNum(7), default, TcpFlags.Syn, 1024, MaxSegmentSize: 1460));
        net.Inject(net.B, Ipv4Address.Parse(source), new TcpRepr(50000, 81, new SeqNum(7), default, TcpFlags.Syn, 1024, MaxSegmentSize: 1460));

        Assert.Equal(0, net.B.TcpLayer.HalfOpenCount);
        Assert.Equal(0, net.B.TcpLayer.Stats.ResetsSent);
        Assert.Equal(2, net.B.TcpLayer.Stats.NonUnicastSourceDropped);
    }

    [Fact]
    public void Budget_Spent_NewSynDroppedNotReset()
    {
        var settings = new TcpSettings { SendBufferSize = 64 * 1024, ReceiveBufferSize = 64 * 1024, MaxBufferBytes = 128 * 1024 };
        var net = TcpNet.Create(62, s_lan, settingsB: settings);
        var listener = net.B.Tcp.Listen(80);
        var (_, first) = net.Connect(listener);

        var second = net.A.Tcp.ConnectAsync(new Ipv4Endpoint(TcpNet.AddressB, 80)).AsTask();
        net.Network.RunUntil(net.Network.Now + Duration.FromSeconds(2));
        Assert.False(second.IsCompleted);
        Assert.True(net.B.TcpLayer.Stats.SynsDropped >= 1);
        Assert.Equal(0, net.B.TcpLayer.Stats.ResetsSent);

        // Room again: the SYN's retransmission gets in.
        first.Abort();
        var accept = listener.AcceptAsync().AsTask();
        net.Run(second, Duration.FromSeconds(10));
        net.Run(accept, Duration.FromSeconds(1));
    }

    internal static bool TryParseTcp(ReadOnlySpan<byte> frame, out TcpRepr segment)
    {
        segment = default;
        byte[] copy = frame.ToArray();
        if (EthernetFrame.TryCreate(copy, out var ethernet) != WireError.None || ethernet.EtherType != EtherType.Ipv4
            || Ipv4Repr.TryParse(ethernet.Payload, out var ip, out var payload) != WireError.None || ip.Protocol != IpProtocol.Tcp)
        {
            return false;
        }
        return TcpRepr.TryParse(payload, ip.Source, ip.Destination, out segment, out _, verifyChecksum: false) == WireError.None;
    }
}
