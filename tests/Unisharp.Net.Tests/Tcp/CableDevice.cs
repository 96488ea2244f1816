using Unisharp.Devices;

namespace Unisharp.Net.Tests.Tcp;

/// <summary>
/// One end of an in-memory cable that allocates nothing per frame (a ring of preallocated frame buffers), for the
/// allocation tests. Single-threaded: both ends are polled by the test.
/// </summary>
internal sealed class CableDevice : INetworkDevice
{
    private const int Slots = 4096;
    private readonly byte[][] _frames = new byte[Slots][];
    private readonly int[] _lengths = new int[Slots];
    private int _head;
    private int _count;
    private CableDevice? _peer;

    private CableDevice(string name, MacAddress mac)
    {
        Name = name;
        MacAddress = mac;
        for (int i = 0; i < Slots; i++)
        {
            _frames[i] = new byte[1514];
        }
    }

    public static (CableDevice A, CableDevice B) CreatePair(MacAddress a, MacAddress b)
    {
        var left = new CableDevice("cable-a", a);
        var right = new CableDevice("cable-b", b);
        left._peer = right;
        right._peer = left;
        return (left, right);
    }

    public string Name { get; }
    public MacAddress MacAddress { get; }
    public NetworkDeviceCapabilities Capabilities { get; } = new(1500);

    public int Pending => _count;

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        if (_count == 0)
        {
            return false;
        }
        handler.Handle(_frames[_head].AsSpan(0, _lengths[_head]));
        _head = (_head + 1) % Slots;
        _count--;
        return true;
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        var peer = _peer!;
        if (peer._count == Slots || length > 1514)
        {
            return false;
        }
        int slot = (peer._head + peer._count) % Slots;
        builder.Build(peer._frames[slot].AsSpan(0, length));
        peer._lengths[slot] = length;
        peer._count++;
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
