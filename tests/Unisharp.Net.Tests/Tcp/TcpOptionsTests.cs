using Unisharp.Net.Tcp;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Tcp;

public class TcpOptionsTests
{
    [Fact]
    public void From_Defaults_SameAsTheStacksDefaults()
    {
        var settings = TcpSettings.From(new TcpOptions());
        var defaults = new TcpSettings();

        Assert.Equal(defaults.ReceiveBufferSize, settings.ReceiveBufferSize);
        Assert.Equal(defaults.SendBufferSize, settings.SendBufferSize);
        Assert.Equal(defaults.NoDelay, settings.NoDelay);
        Assert.Equal(defaults.KeepAlive, settings.KeepAlive);
        Assert.Equal(defaults.KeepAliveIdle, settings.KeepAliveIdle);
        Assert.Equal(defaults.KeepAliveInterval, settings.KeepAliveInterval);
        Assert.Equal(defaults.KeepAliveProbes, settings.KeepAliveProbes);
        Assert.Equal(TcpCongestionControl.Bbr, settings.CongestionControl);
    }

    [Fact]
    public void From_Choices_Carried()
    {
        var settings = TcpSettings.From(new TcpOptions
        {
            ReceiveBufferSize = 1 << 20,
            SendBufferSize = 64 * 1024,
            NoDelay = true,
            KeepAlive = true,
            KeepAliveIdle = TimeSpan.FromSeconds(30),
            KeepAliveInterval = TimeSpan.FromSeconds(5),
            KeepAliveProbes = 3,
            CongestionControl = TcpCongestionControl.Reno,
        });

        Assert.Equal(1 << 20, settings.ReceiveBufferSize);
        Assert.Equal(64 * 1024, settings.SendBufferSize);
        Assert.True(settings.NoDelay);
        Assert.True(settings.KeepAlive);
        Assert.Equal(Duration.FromSeconds(30), settings.KeepAliveIdle);
        Assert.Equal(Duration.FromSeconds(5), settings.KeepAliveInterval);
        Assert.Equal(3, settings.KeepAliveProbes);
        Assert.Equal(TcpCongestionControl.Reno, settings.CongestionControl);
    }

    [Theory]
    [InlineData(100, null)]
    [InlineData(null, 128 << 20)]
    public void Validate_BufferOutOfRange_Throws(int? receive, int? send)
    {
        var options = new TcpOptions { ReceiveBufferSize = receive, SendBufferSize = send };

        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Throws<ArgumentOutOfRangeException>(() => TcpSettings.From(options));
    }

    [Fact]
    public void Connection_NoDelayAndKeepAlive_FollowTheOptionsAndToggle()
    {
        var settings = TcpSettings.From(new TcpOptions { NoDelay = true, KeepAlive = true });
        var net = TcpNet.Create(41, new LinkConditions(Latency: Duration.FromMilliseconds(1)), settings, settings);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));

        Assert.True(client.NoDelay);
        Assert.True(server.KeepAlive);
        client.NoDelay = false;
        server.KeepAlive = false;
        Assert.False(TcpNet.SocketOf(client).NoDelay);
        Assert.False(TcpNet.SocketOf(server).KeepAlive);
    }

    [Fact]
    public void Connection_KeepAliveOnIdlePeerGone_TimesOut()
    {
        var settings = TcpSettings.From(new TcpOptions
        {
            KeepAlive = true,
            KeepAliveIdle = TimeSpan.FromSeconds(10),
            KeepAliveInterval = TimeSpan.FromSeconds(2),
            KeepAliveProbes = 3,
        });
        var net = TcpNet.Create(42, new LinkConditions(Latency: Duration.FromMilliseconds(1)), settings, settings);
        var (client, _) = net.Connect(net.B.Tcp.Listen(80));
        var reading = client.ReadAsync(new byte[8]).AsTask();

        net.Cut();
        net.Network.RunUntil(() => reading.IsCompleted, Duration.FromSeconds(30));

        var error = Assert.ThrowsAny<NetworkException>(() => reading.GetAwaiter().GetResult());
        Assert.Equal(NetworkError.TimedOut, error.Error);
    }
}
