using Unisharp.Net.Tcp;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Tcp;

/// <summary>Receive window auto-tuning: the buffer grows while the window limits the sender, within its bounds.</summary>
public class TcpAutoTuningTests
{
    // 20 ms round trip at 100 Mbit/s: 250 KB in flight to fill the pipe, far more than a 32 KiB window.
    private static readonly LinkConditions s_wan = new(Latency: Duration.FromMilliseconds(10), BitsPerSecond: 100_000_000);

    private static (TcpNet Net, double Seconds, int Capacity) Transfer(ulong seed, TcpSettings receiver, int bytes)
    {
        var net = TcpNet.Create(seed, s_wan, settingsB: receiver);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        byte[] data = TcpNet.RandomBytes(bytes, (int)seed);
        var started = net.Network.Now;
        var reading = TcpNet.ReadToEnd(server, data.Length);
        var writing = TcpNet.WriteAllAndClose(client, data);
        byte[] received = net.Run(reading, Duration.FromSeconds(120));
        net.Run(writing, Duration.FromSeconds(5));
        Assert.Equal(data, received);
        int capacity;
        lock (net.B.TcpLayer.Lock)
        {
            capacity = TcpNet.SocketOf(server).ReceiveCapacity;
        }
        return (net, (net.Network.Now - started).TotalMilliseconds / 1000, capacity);
    }

    [Fact]
    public void AutoTuning_WindowLimitsSender_GrowsToMaxAndTransfersFaster()
    {
        var fixedWindow = new TcpSettings { ReceiveBufferSize = 32 * 1024 };
        var tuned = new TcpSettings { ReceiveBufferSize = 32 * 1024, MaxReceiveBufferSize = 1024 * 1024 };

        var (_, fixedSeconds, fixedCapacity) = Transfer(71, fixedWindow, 8 << 20);
        var (net, tunedSeconds, tunedCapacity) = Transfer(71, tuned, 8 << 20);

        Assert.Equal(32 * 1024, fixedCapacity);
        Assert.InRange(tunedCapacity, 256 * 1024, 1024 * 1024);
        Assert.True(net.B.TcpLayer.Stats.ReceiveBufferGrowths >= 3, $"{net.B.TcpLayer.Stats.ReceiveBufferGrowths} growths");
        // 32 KiB per 20 ms round trip is 1.6 MB/s; the grown window fills most of the 12.5 MB/s link.
        Assert.True(tunedSeconds * 3 < fixedSeconds, $"tuned {tunedSeconds:F2} s, fixed {fixedSeconds:F2} s");
    }

    [Fact]
    public void AutoTuning_TotalBoundReached_GrowthRefused()
    {
        // Room for the first buffers only: growth would pass three quarters of the total.
        var tight = new TcpSettings { ReceiveBufferSize = 32 * 1024, SendBufferSize = 32 * 1024, MaxReceiveBufferSize = 1024 * 1024, MaxBufferBytes = 96 * 1024 };

        var (net, _, capacity) = Transfer(72, tight, 2 << 20);

        Assert.Equal(32 * 1024, capacity);
        Assert.Equal(0, net.B.TcpLayer.Stats.ReceiveBufferGrowths);
        Assert.True(net.B.TcpLayer.Stats.ReceiveBufferGrowthsRefused > 0);
    }

    [Fact]
    public void AutoTuning_MaxSet_WindowScaleChosenForMax()
    {
        var net = TcpNet.Create(73, s_wan, settingsB: new TcpSettings { ReceiveBufferSize = 32 * 1024, MaxReceiveBufferSize = 4 << 20 });
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));

        // The scale is chosen for the most the buffer may grow to: 4 MiB needs 7 (as Linux's default maximum).
        Assert.Equal(7, TcpNet.SocketOf(client).SendWindowShift);
        Assert.Equal(7, TcpNet.SocketOf(server).ReceiveWindowShift);
    }
}
