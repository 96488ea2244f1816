
namespace Unisharp.Simulation.Tests;

/// <summary>Reads every frame from its device and records its sequence number and arrival time.</summary>
internal sealed class CountingNode(SimulatedDevice device) : ISimulatedNode
{
    private readonly byte[] _buffer = new byte[device.Capabilities.MaxFrameLength];

    public List<(int Sequence, Instant At, int Length)> Received { get; } = [];

    public int Count => Received.Count;

    public void Poll(Instant now)
    {
        int length;
        while ((length = device.Receive(_buffer)) > 0)
        {
            Received.Add((TestFrames.Sequence(_buffer), now, length));
        }
    }

    public Instant PollAt(Instant now) => Instant.Never;
}
