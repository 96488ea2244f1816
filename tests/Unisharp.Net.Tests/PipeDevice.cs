using System.Collections.Concurrent;
using Unisharp.Devices;

namespace Unisharp.Net.Tests;

/// <summary>One end of a thread-safe in-memory cable: what one end transmits the other receives. For threaded stacks.</summary>
internal sealed class PipeDevice : INetworkDevice
{
    private readonly ConcurrentQueue<byte[]> _incoming = new();
    private readonly SemaphoreSlim _signal = new(0);
    private PipeDevice? _peer;

    private PipeDevice(string name, MacAddress mac)
    {
        Name = name;
        MacAddress = mac;
    }

    public static (PipeDevice A, PipeDevice B) CreatePair(MacAddress a, MacAddress b)
    {
        var left = new PipeDevice("pipe-a", a);
        var right = new PipeDevice("pipe-b", b);
        left._peer = right;
        right._peer = left;
        return (left, right);
    }

    public string Name { get; }
    public MacAddress MacAddress { get; }
    public NetworkDeviceCapabilities Capabilities { get; } = new(1500);

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        if (!_incoming.TryDequeue(out byte[]? frame))
        {
            return false;
        }
        handler.Handle(frame);
        return true;
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        byte[] frame = new byte[length];
        builder.Build(frame);
        _peer!._incoming.Enqueue(frame);
        _peer._signal.Release();
        return true;
    }

    public bool WaitForFrame(TimeSpan timeout) => !_incoming.IsEmpty || _signal.Wait(timeout);

    public void Wake() => _signal.Release();

    public void Dispose() => _signal.Dispose();
}
