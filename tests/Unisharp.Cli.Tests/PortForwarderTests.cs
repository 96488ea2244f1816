using System.Net;
using System.Net.Sockets;
using Unisharp.Cli.Publishing;

namespace Unisharp.Cli.Tests;

/// <summary>The <c>--publish</c> forwarder in the tool's own namespace, against a UDP peer on loopback.</summary>
public sealed class PortForwarderTests
{
    [Fact]
    public async Task Udp_ClientIdleLongerThanTheTimeout_ComesBackFromANewGuestSideSocket()
    {
        using var guest = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        guest.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int guestPort = ((IPEndPoint)guest.LocalEndPoint!).Port;
        int hostPort = PublishTests.FreePort(SocketType.Dgram, ProtocolType.Udp);
        await using var forwarder = PortForwarder.Bind([PublishedPort.Parse($"{hostPort}:{guestPort}/udp")]);
        forwarder.UdpIdleTimeout = TimeSpan.FromMilliseconds(500);
        forwarder.Start(null, IPAddress.Loopback);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var published = new IPEndPoint(IPAddress.Loopback, hostPort);
        var first = await RoundTripAsync(client, published, guest, "a");
        var second = await RoundTripAsync(client, published, guest, "b");
        Assert.Equal(first, second);
        await Task.Delay(TimeSpan.FromMilliseconds(2000));
        var third = await RoundTripAsync(client, published, guest, "c");
        Assert.NotEqual(first, third);
    }

    /// <summary>Sends <paramref name="text"/> through the forwarder, answers it from the guest; returns where the guest saw it come from.</summary>
    private static async Task<EndPoint> RoundTripAsync(Socket client, IPEndPoint published, Socket guest, string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.SendToAsync(System.Text.Encoding.ASCII.GetBytes(text), published, timeout.Token);
        byte[] buffer = new byte[64];
        var received = await guest.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        Assert.Equal(text, System.Text.Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes));
        await guest.SendToAsync(buffer.AsMemory(0, received.ReceivedBytes), received.RemoteEndPoint, timeout.Token);
        var back = await client.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        Assert.Equal(published, back.RemoteEndPoint);
        Assert.Equal(text, System.Text.Encoding.ASCII.GetString(buffer, 0, back.ReceivedBytes));
        return received.RemoteEndPoint;
    }
}
