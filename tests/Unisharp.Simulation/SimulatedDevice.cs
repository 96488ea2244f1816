using System.Buffers;
using Unisharp.Devices;
using Unisharp.Net;

namespace Unisharp.Simulation;

/// <summary>
/// A network card plugged into the virtual switch of a <see cref="SimulatedNetwork"/>. Frames the switch
/// delivers wait in a receive queue; transmitted frames go onto the device's link to the switch.
/// </summary>
/// <remarks>
/// Like a TAP device, it does not filter by destination address: it receives whatever the switch sends it
/// (flooded frames included). <see cref="WaitForFrame"/> never blocks, because virtual time only moves when
/// the network runs. Frame buffers come from <see cref="ArrayPool{T}.Shared"/>, so steady traffic allocates nothing.
/// </remarks>
public sealed class SimulatedDevice : INetworkDevice
{
    /// <summary>Frames the receive queue holds; more are dropped, as a NIC's ring overflows.</summary>
    public const int ReceiveQueueCapacity = 1024;

    /// <summary>Frames that may wait for a bandwidth-limited wire before <see cref="TryTransmit{TBuilder}"/> says no.</summary>
    public const int TransmitQueueCapacity = 256;

    private readonly SimulatedNetwork _network;
    private readonly Queue<(byte[] Buffer, int Length)> _received = new();
    // Times at which frames still queued for the wire finish serializing (bandwidth-limited links only).
    private readonly Queue<Instant> _transmitting = new();
    private LinkConditions _conditions;
    private bool _disposed;

    internal SimulatedDevice(SimulatedNetwork network, string name, MacAddress mac, LinkConditions conditions, int mtu)
    {
        _network = network;
        Name = name;
        MacAddress = mac;
        Capabilities = new NetworkDeviceCapabilities(mtu);
        Conditions = conditions;
    }

    public string Name { get; }

    public MacAddress MacAddress { get; }

    public NetworkDeviceCapabilities Capabilities { get; }

    /// <summary>The link to the switch, applied to frames this device sends; may change mid-run (to cut a link, set Loss to 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public LinkConditions Conditions
    {
        get => _conditions;
        set
        {
            value.Validate();
            _conditions = value;
        }
    }

    /// <summary>Frames waiting in the receive queue.</summary>
    public int PendingFrames => _received.Count;

    /// <summary>Frames this device has transmitted.</summary>
    public long FramesTransmitted { get; private set; }

    /// <summary>Frames this device has received (taken from its queue).</summary>
    public long FramesReceived { get; private set; }

    /// <summary>True once disposed: the switch no longer delivers to it.</summary>
    public bool IsDisposed => _disposed;

    // Link state kept by the network: when the wire is free again, and the latest arrival so far
    // (frames arrive in order unless reordered on purpose).
    internal Instant WireFreeAt { get; set; }

    internal Instant LastArrival { get; set; }

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        if (_disposed || !_received.TryDequeue(out var frame))
        {
            return false;
        }
        try
        {
            handler.Handle(frame.Buffer.AsSpan(0, frame.Length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame.Buffer);
        }
        FramesReceived++;
        return true;
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (length < 0 || length > Capabilities.MaxFrameLength)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"A frame on {Name} is 0 to {Capabilities.MaxFrameLength} bytes.");
        }
        Instant now = _network.Now;
        while (_transmitting.TryPeek(out var done) && done <= now)
        {
            _transmitting.Dequeue();
        }
        if (_transmitting.Count >= TransmitQueueCapacity)
        {
            return false;
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            builder.Build(buffer.AsSpan(0, length));
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        FramesTransmitted++;
        Instant departs = _network.Send(this, buffer, length);
        if (departs > now)
        {
            _transmitting.Enqueue(departs);
        }
        return true;
    }

    /// <summary>Returns at once: true when a frame is pending.</summary>
    public bool WaitForFrame(TimeSpan timeout) => !_disposed && _received.Count > 0;

    /// <summary>Nothing to wake: <see cref="WaitForFrame"/> never blocks.</summary>
    public void Wake()
    {
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        while (_received.TryDequeue(out var frame))
        {
            ArrayPool<byte>.Shared.Return(frame.Buffer);
        }
    }

    /// <summary>Takes ownership of <paramref name="buffer"/>; false (buffer not taken) when full or disposed.</summary>
    internal bool Enqueue(byte[] buffer, int length)
    {
        if (_disposed || _received.Count >= ReceiveQueueCapacity || length > Capabilities.MaxFrameLength)
        {
            return false;
        }
        _received.Enqueue((buffer, length));
        return true;
    }

    public override string ToString() => $"{Name} ({MacAddress})";
}
