using Unisharp.Devices;
using Unisharp.Net;

namespace Unisharp.Tests.Middleware;

/// <summary>
/// A loopback device over preallocated buffers, for allocation tests: a transmitted frame is received
/// next. Nothing is allocated after construction.
/// </summary>
internal sealed class RingDevice : INetworkDevice
{
    private readonly byte[][] _slots;
    private readonly int[] _lengths;
    private int _head;
    private int _count;

    public RingDevice(int slots = 64)
    {
        _slots = new byte[slots][];
        for (int i = 0; i < slots; i++)
        {
            _slots[i] = new byte[Capabilities.MaxFrameLength];
        }
        _lengths = new int[slots];
    }

    public string Name => "ring0";

    public MacAddress MacAddress => QueueDevice.Address;

    public NetworkDeviceCapabilities Capabilities { get; } = new(1500);

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        if (_count == 0)
        {
            return false;
        }
        handler.Handle(_slots[_head].AsSpan(0, _lengths[_head]));
        _head = (_head + 1) % _slots.Length;
        _count--;
        return true;
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        if (_count == _slots.Length)
        {
            return false;
        }
        int tail = (_head + _count) % _slots.Length;
        builder.Build(_slots[tail].AsSpan(0, length));
        _lengths[tail] = length;
        _count++;
        return true;
    }

    public bool WaitForFrame(TimeSpan timeout) => _count > 0;

    public void Wake()
    {
    }

    public void Dispose()
    {
    }
}
