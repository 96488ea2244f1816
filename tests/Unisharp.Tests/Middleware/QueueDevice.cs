using Unisharp.Devices;
using Unisharp.Net;

namespace Unisharp.Tests.Middleware;

/// <summary>
/// An in-memory network device for tests: frames put in with <see cref="Inject"/> are received in order,
/// transmitted frames are collected in <see cref="Sent"/>.
/// </summary>
internal sealed class QueueDevice(int mtu = 1500) : INetworkDevice
{
    public static readonly MacAddress Address = MacAddress.Parse("02:00:00:00:00:01");

    public Queue<byte[]> Incoming { get; } = new();

    public List<byte[]> Sent { get; } = [];

    /// <summary>The most frames <see cref="Sent"/> may hold; further transmits are refused.</summary>
    public int TransmitCapacity { get; set; } = int.MaxValue;

    /// <summary>The timeouts <see cref="WaitForFrame"/> was called with.</summary>
    public List<TimeSpan> Waits { get; } = [];

    /// <summary>Runs inside <see cref="WaitForFrame"/> when nothing is pending, as time passing while blocked.</summary>
    public Action<TimeSpan>? WhileWaiting { get; set; }

    public int Wakes { get; private set; }

    public bool IsDisposed { get; private set; }

    public string Name => "queue0";

    public MacAddress MacAddress => Address;

    public NetworkDeviceCapabilities Capabilities { get; } = new(mtu);

    public void Inject(byte[] frame) => Incoming.Enqueue(frame);

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
        if (Sent.Count >= TransmitCapacity)
        {
            return false;
        }
        var frame = new byte[length];
        builder.Build(frame);
        Sent.Add(frame);
        return true;
    }

    public bool WaitForFrame(TimeSpan timeout)
    {
        Waits.Add(timeout);
        if (Incoming.Count == 0)
        {
            WhileWaiting?.Invoke(timeout);
        }
        return Incoming.Count > 0;
    }

    public void Wake() => Wakes++;

    public void Dispose() => IsDisposed = true;
}
