using System.Buffers.Binary;
using Unisharp.Devices.Middleware;
using static Unisharp.Simulation.Tests.TestFrames;

namespace Unisharp.Simulation.Tests;

/// <summary>The device middleware composes over simulated devices and runs in virtual time.</summary>
public sealed class MiddlewareCompositionTests
{
    [Fact]
    public void PcapWriterDevice_OverSimulatedDevice_StampsVirtualTime()
    {
        var net = new SimulatedNetwork(1);
        var link = new LinkConditions(Latency: Duration.FromMilliseconds(2));
        var output = new MemoryStream();
        var a = new PcapWriterDevice(net.AddDevice("a", A, link), output, net.Clock);
        net.AddNode(new EchoNode(net.AddDevice("b", B, link)));
        var reader = new DeviceReader(a);
        net.AddNode(reader);

        a.TrySend(Build(B, A, 5));
        net.RunUntil(() => reader.Count == 1, Duration.FromSeconds(1));
        a.Dispose();

        byte[] file = output.ToArray();
        long epoch = SimulatedClock.Epoch.ToUnixTimeSeconds();
        // Sent at 0 ms; back after 2 ms to the switch, 2 ms back.
        Assert.Equal((uint)epoch, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(24)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(28)));
        Assert.Equal((uint)epoch, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(24 + 16 + 64)));
        Assert.Equal(4_000u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(28 + 16 + 64)));
        Assert.Equal(B, Source(file.AsSpan(24 + 16 + 64 + 16)));
    }

    [Fact]
    public void FaultInjectorDevice_DelayOverSimulatedDevice_NodeWakesAtNextRelease()
    {
        var net = new SimulatedNetwork(1);
        var a = new FaultInjectorDevice(net.AddDevice("a", A), new FaultOptions(Delay: Duration.FromMilliseconds(3)), net.Clock);
        net.AddNode(new EchoNode(net.AddDevice("b", B)));
        var reader = new DeviceReader(a);
        net.AddNode(reader);

        a.TrySend(Build(B, A, 5));
        bool echoed = net.RunUntil(() => reader.Count == 1, Duration.FromSeconds(1));

        // 3 ms held on the way out, 3 ms on the way back in.
        Assert.True(echoed);
        Assert.Equal(Instant.FromMilliseconds(6), net.Now);
    }

    /// <summary>Counts frames from any device, and asks to be polled when a fault injector releases one.</summary>
    private sealed class DeviceReader(INetworkDevice device) : ISimulatedNode
    {
        private readonly byte[] _buffer = new byte[1518];

        public int Count { get; private set; }

        public void Poll(Instant now)
        {
            while (device.Receive(_buffer) > 0)
            {
                Count++;
            }
            // Held transmits go out on any call; a receive attempt is one.
        }

        public Instant PollAt(Instant now) => device is FaultInjectorDevice faulty ? faulty.NextRelease : Instant.Never;
    }
}
