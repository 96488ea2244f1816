using Unisharp.Devices;

namespace Unisharp.Net.Tests;

/// <summary>An in-memory device for tests: frames to receive are queued by the test; transmitted frames are kept.</summary>
internal sealed class TestDevice(MacAddress mac, int mtu = 1500) : INetworkDevice
{
    public Queue<byte[]> Incoming { get; } = new();
    public List<byte[]> Sent { get; } = [];

    /// <summary>When true, <see cref="TryTransmit{TBuilder}"/> refuses, as a full queue does.</summary>
    public bool TransmitFull { get; set; }

    public string Name => "test0";
    public MacAddress MacAddress => mac;
    public NetworkDeviceCapabilities Capabilities { get; } = new(mtu);

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        if (!Incoming.TryDequeue(out byte[]? frame))
        {
            return false;
        }
        handler.Handle(frame);
        return true;
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Capabilities.MaxFrameLength);
        if (TransmitFull)
        {
            return false;
        }
        byte[] frame = new byte[length];
        builder.Build(frame);
        Sent.Add(frame);
        return true;
    }

    public bool WaitForFrame(TimeSpan timeout) => Incoming.Count > 0;

    public void Wake()
    {
    }

    public void Dispose()
    {
    }

    /// <summary>Removes and returns what was sent so far.</summary>
    public List<byte[]> TakeSent()
    {
        var sent = new List<byte[]>(Sent);
        Sent.Clear();
        return sent;
    }
}
