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
}
