
namespace Unisharp.Simulation.Tests;

/// <summary>Sends every frame it receives back to its sender, with the addresses swapped.</summary>
internal sealed class EchoNode(SimulatedDevice device) : ISimulatedNode
{
    public int Echoed { get; private set; }

    public void Poll(Instant now)
    {
        var handler = new SwapHandler(device);
        while (device.TryReceive(ref handler))
        {
            Echoed++;
        }
    }

    public Instant PollAt(Instant now) => Instant.Never;

    private readonly struct SwapHandler(SimulatedDevice device) : IFrameHandler
    {
        public void Handle(Span<byte> frame)
        {
            // In place: the received buffer is ours for the duration of the call.
            frame[6..12].CopyTo(frame);
            device.MacAddress.Write(frame[6..]);
            Assert.True(device.TrySend(frame));
        }
    }
}
