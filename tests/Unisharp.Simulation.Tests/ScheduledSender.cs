using Unisharp.Net;

namespace Unisharp.Simulation.Tests;

/// <summary>Sends <c>count</c> numbered frames to <c>destination</c>, one every <c>interval</c>, starting at zero.</summary>
internal sealed class ScheduledSender(SimulatedDevice device, MacAddress destination, int count, Duration interval, int length = 64) : ISimulatedNode
{
    private int _sent;

    public int Sent => _sent;

    public void Poll(Instant now)
    {
        while (_sent < count && Instant.Zero + interval * _sent <= now)
        {
            Assert.True(device.TrySend(TestFrames.Build(destination, device.MacAddress, _sent, length)));
            _sent++;
        }
    }

    public Instant PollAt(Instant now) => _sent < count ? Instant.Zero + interval * _sent : Instant.Never;
}
