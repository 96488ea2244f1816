using Unisharp.Devices;
using Unisharp.Net;

namespace Unisharp.Fuzz;

/// <summary>A network device fed from a queue: the frames the fuzzer made go in, the stack's frames are kept for checks.</summary>
internal sealed class QueueDevice(MacAddress mac) : INetworkDevice
{
    public Queue<byte[]> Incoming { get; } = new();

    public List<byte[]> Sent { get; } = [];

    public string Name => "fuzz0";

    public MacAddress MacAddress => mac;

    public NetworkDeviceCapabilities Capabilities { get; } = new(1500);

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
        FuzzTargets.Check(length >= 0 && length <= Capabilities.MaxFrameLength, $"stack transmits a {length}-byte frame");
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
}
