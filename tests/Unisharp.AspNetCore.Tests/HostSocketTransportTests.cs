using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Unisharp.Net;

namespace Unisharp.AspNetCore.Tests;

/// <summary>Under <c>--net socket</c> Kestrel keeps its own socket transport, held to the unikernel's address.</summary>
public sealed class HostSocketTransportTests
{
    [Fact]
    public async Task UseUnisharp_HostSocketStack_KestrelSocketsServeOnTheStacksAddressOnly()
    {
        int port = FreePort();
        await using var app = Build(new HostStack(Ipv4Address.Parse("127.0.0.1")), port, o => { });
        await app.StartAsync();

        using var http = new HttpClient();
        Assert.Equal("socket", await http.GetStringAsync($"http://127.0.0.1:{port}/"));
        // Listen(IPAddress.Any) was held to 127.0.0.1: another loopback address of the host is not served.
        using var other = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(() => other.ConnectAsync(IPAddress.Parse("127.0.0.2"), port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task UseUnisharp_HostSocketStackWithoutKestrelSockets_UsesTheStacksTcp()
    {
        var stack = new HostStack(Ipv4Address.Parse("127.0.0.1"));
        await using var app = Build(stack, FreePort(), o => o.KestrelSocketsOnHost = false);

        // Our transport asks the stack's TCP to listen; this stack's TCP refuses, so the start fails on it.
        await Assert.ThrowsAsync<NotSupportedException>(() => app.StartAsync());
        Assert.True(stack.ListenCalled);
    }

    private static WebApplication Build(IStack stack, int port, Action<UnisharpTransportOptions> configure)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUnisharp(stack, configure: configure);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Any, port));
        var app = builder.Build();
        app.MapGet("/", () => Results.Text("socket"));
        return app;
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>A host-socket stack whose own TCP is not there: only Kestrel's sockets can serve through it.</summary>
    private sealed class HostStack(Ipv4Address address) : IStack, ITcp
    {
        public bool ListenCalled { get; private set; }

        public ITcp Tcp => this;

        public IUdp Udp => throw new NotSupportedException();

        public Ipv4Address Address => address;

        public bool UsesHostSockets => true;

        public ITcpListener Listen(ushort port, int backlog = 128)
        {
            ListenCalled = true;
            throw new NotSupportedException("no TCP here");
        }

        public ValueTask<ITcpConnection> ConnectAsync(Ipv4Endpoint remote, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
