using System.IO.Pipelines;
using System.Text;
using Unisharp.Net;
using Unisharp.Targets.Unix.Sockets;

namespace Unisharp.Targets.Unix.Tests;

/// <summary>The host-socket stack on loopback: the interfaces' contract, served by the Linux kernel.</summary>
public sealed class HostSocketStackTests
{
    private static readonly HostSocketStack s_stack = new(Ipv4Address.Loopback);

    [Fact]
    public async Task Tcp_ListenConnectEcho_BytesAndEndpointsRight()
    {
        await using var listener = s_stack.Tcp.Listen(0);
        Assert.NotEqual(0, listener.LocalEndpoint.Port);
        var accepting = listener.AcceptAsync().AsTask();
        await using var client = await s_stack.Tcp.ConnectAsync(listener.LocalEndpoint);
        await using var server = await accepting;
        Assert.Equal(client.LocalEndpoint, server.RemoteEndpoint);

        await client.WriteAsync(Encoding.ASCII.GetBytes("hello"));
        await client.ShutdownWriteAsync();
        var received = new MemoryStream();
        var buffer = new byte[64];
        int n;
        while ((n = await server.ReadAsync(buffer)) > 0)
        {
            received.Write(buffer, 0, n);
        }
        Assert.Equal("hello", Encoding.ASCII.GetString(received.ToArray()));
    }

    [Fact]
    public async Task Tcp_GetStream_WorksWithStreamCode()
    {
        await using var listener = s_stack.Tcp.Listen(0);
        var accepting = listener.AcceptAsync().AsTask();
        await using var client = await s_stack.Tcp.ConnectAsync(listener.LocalEndpoint);
        await using var server = await accepting;
        await using var writer = new StreamWriter(client.GetStream()) { AutoFlush = true };
        using var reader = new StreamReader(server.GetStream());
        await writer.WriteLineAsync("a line");
        Assert.Equal("a line", await reader.ReadLineAsync());
    }

    [Fact]
    public async Task Tcp_CloseAsyncPeerReads_TrueAndPeerGetsAll()
    {
        await using var listener = s_stack.Tcp.Listen(0);
        var accepting = listener.AcceptAsync().AsTask();
        var client = await s_stack.Tcp.ConnectAsync(listener.LocalEndpoint);
        await using var server = await accepting;
        byte[] data = new byte[4 << 20];
        new Random(5).NextBytes(data);
        var reading = Task.Run(async () =>
        {
            var received = new MemoryStream();
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await server.ReadAsync(buffer)) > 0)
            {
                received.Write(buffer, 0, n);
            }
            return received.ToArray();
        });

        await client.WriteAsync(data);
        Assert.True(await client.CloseAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(data, await reading);
    }

    [Fact]
    public async Task Tcp_CloseAsyncPeerNeverReads_FalseAfterTimeoutAndReset()
    {
        await using var listener = s_stack.Tcp.Listen(0);
        var accepting = listener.AcceptAsync().AsTask();
        var client = await s_stack.Tcp.ConnectAsync(listener.LocalEndpoint);
        await using var server = await accepting;
        // More than the peer's receive buffer and ours together can hold: the FIN cannot go out while nobody reads.
        var writing = client.WriteAsync(new byte[64 << 20]).AsTask();
        await Task.WhenAny(writing, Task.Delay(500));
        var started = DateTime.UtcNow;

        bool closed = await client.CloseAsync(TimeSpan.FromMilliseconds(300));

        Assert.False(closed);
        Assert.InRange((DateTime.UtcNow - started).TotalMilliseconds, 250, 5000);
        var e = await Assert.ThrowsAsync<NetworkException>(async () =>
        {
            var buffer = new byte[1 << 20];
            while (await server.ReadAsync(buffer) > 0)
            {
            }
        });
        Assert.Equal(NetworkError.ConnectionReset, e.Error);
        await Assert.ThrowsAnyAsync<Exception>(() => writing);
    }

    [Fact]
    public async Task Tcp_ConnectToClosedPort_Refused()
    {
        ushort port;
        await using (var listener = s_stack.Tcp.Listen(0))
        {
            port = listener.LocalEndpoint.Port;
        }
        var e = await Assert.ThrowsAsync<NetworkException>(async () => await s_stack.Tcp.ConnectAsync(new Ipv4Endpoint(Ipv4Address.Loopback, port)));
        Assert.Equal(NetworkError.ConnectionRefused, e.Error);
    }

    [Fact]
    public async Task Tcp_ListenOnTakenPort_AddressInUse()
    {
        await using var listener = s_stack.Tcp.Listen(0);
        var e = Assert.Throws<NetworkException>(() => new HostSocketStack(Ipv4Address.Loopback).Tcp.Listen(listener.LocalEndpoint.Port));
        Assert.Equal(NetworkError.AddressInUse, e.Error);
    }

    [Fact]
    public async Task Tcp_AcceptAfterDispose_Closed()
    {
        var listener = s_stack.Tcp.Listen(0);
        await listener.DisposeAsync();
        var e = await Assert.ThrowsAsync<NetworkException>(async () => await listener.AcceptAsync());
        Assert.Equal(NetworkError.Closed, e.Error);
    }

    [Fact]
    public async Task Udp_SendReceive_DatagramAndSenderRight()
    {
        await using var a = s_stack.Udp.Bind(0);
        await using var b = s_stack.Udp.Bind(0);
        await a.SendAsync(Encoding.ASCII.GetBytes("datagram"), b.LocalEndpoint);
        var buffer = new byte[100];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var result = await b.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal("datagram", Encoding.ASCII.GetString(buffer, 0, result.Length));
        Assert.Equal(a.LocalEndpoint, result.Remote);
    }

    [Fact]
    public async Task Tcp_Options_AppliedAndTogglesWork()
    {
        var stack = new HostSocketStack(Ipv4Address.Loopback, new TcpOptions { NoDelay = false, KeepAlive = true, ReceiveBufferSize = 128 * 1024 });
        await using var listener = stack.Tcp.Listen(0);
        var accepting = listener.AcceptAsync().AsTask();
        await using var client = await stack.Tcp.ConnectAsync(listener.LocalEndpoint);
        await using var server = await accepting;

        Assert.False(client.NoDelay);
        Assert.False(server.NoDelay);
        Assert.True(client.KeepAlive);
        Assert.True(server.KeepAlive);
        server.NoDelay = true;
        server.KeepAlive = false;
        Assert.True(server.NoDelay);
        Assert.False(server.KeepAlive);
    }

    [Fact]
    public void Tcp_OptionsOutOfRange_Refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new HostSocketStack(Ipv4Address.Loopback, new TcpOptions { SendBufferSize = 10 }));
    }

    [Fact]
    public async Task Tcp_AsPipe_FourMiBEchoedAndHalfClosed()
    {
        await using var listener = s_stack.Tcp.Listen(0);
        var accepting = listener.AcceptAsync().AsTask();
        var clientPipe = (await s_stack.Tcp.ConnectAsync(listener.LocalEndpoint)).AsPipe();
        var serverPipe = (await accepting).AsPipe();
        byte[] data = new byte[4 << 20];
        new Random(5).NextBytes(data);

        // The server echoes through its pipe until our FIN, then completes its output (its FIN).
        var echo = Task.Run(async () =>
        {
            while (true)
            {
                var result = await serverPipe.Input.ReadAsync();
                foreach (var segment in result.Buffer)
                {
                    await serverPipe.Output.WriteAsync(segment);
                }
                serverPipe.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
            await serverPipe.Input.CompleteAsync();
            await serverPipe.Output.CompleteAsync();
        });
        var send = Task.Run(async () =>
        {
            for (int offset = 0; offset < data.Length; offset += 100_000)
            {
                await clientPipe.Output.WriteAsync(data.AsMemory(offset, Math.Min(100_000, data.Length - offset)));
            }
            await clientPipe.Output.CompleteAsync();
        });
        var received = new MemoryStream(data.Length);
        while (true)
        {
            var result = await clientPipe.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            foreach (var segment in result.Buffer)
            {
                received.Write(segment.Span);
            }
            clientPipe.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }
        await clientPipe.Input.CompleteAsync();
        await Task.WhenAll(send, echo).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(data.AsSpan().SequenceEqual(received.ToArray()), $"{received.Length} of {data.Length} bytes, or they differ");
    }

    [Fact]
    public async Task Tcp_AsPipeOutputFailed_PeerSeesReset()
    {
        await using var listener = s_stack.Tcp.Listen(0);
        var accepting = listener.AcceptAsync().AsTask();
        var clientPipe = (await s_stack.Tcp.ConnectAsync(listener.LocalEndpoint)).AsPipe();
        await using var server = await accepting;

        await clientPipe.Output.CompleteAsync(new InvalidOperationException("the app gave up"));

        var e = await Assert.ThrowsAsync<NetworkException>(async () => await server.ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(NetworkError.ConnectionReset, e.Error);
    }

    [Fact]
    public async Task Dns_HostResolver_LocalhostAndLiteral()
    {
        var dns = ((IStack)s_stack).Dns!;

        Assert.Contains(Ipv4Address.Loopback, await dns.ResolveAsync("localhost"));
        Assert.Equal([Ipv4Address.Parse("198.18.0.1")], await dns.ResolveAsync("198.18.0.1"));
        var e = await Assert.ThrowsAsync<NetworkException>(async () => await dns.ResolveAsync("no-such-host.invalid"));
        // NXDOMAIN where the host has a working resolver; without one, glibc says to try again.
        Assert.Contains(e.Error, (NetworkError[])[NetworkError.NameNotFound, NetworkError.TimedOut]);
    }
}
