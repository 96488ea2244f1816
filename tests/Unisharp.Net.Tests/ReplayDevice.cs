using Unisharp.Devices;

namespace Unisharp.Net.Tests;

/// <summary>A device that receives one prepared frame as often as asked and swallows transmissions, allocating nothing.</summary>
internal sealed class ReplayDevice(MacAddress mac, byte[] frame) : INetworkDevice
{
    private readonly byte[] _rx = new byte[frame.Length];
    private readonly byte[] _tx = new byte[1518];

    public int Pending { get; set; }
    public long Transmitted { get; private set; }

    public string Name => "replay0";
    public MacAddress MacAddress => mac;
    public NetworkDeviceCapabilities Capabilities { get; } = new(1500);

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        if (Pending == 0)
        {
            return false;
        }
        Pending--;
        frame.CopyTo(_rx, 0);
        handler.Handle(_rx);
        return true;
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        builder.Build(_tx.AsSpan(0, length));
        Transmitted++;
        return true;
    }

    public bool WaitForFrame(TimeSpan timeout) => Pending > 0;

    public void Wake()
    {
    }

    public void Dispose()
    {
    }
}
