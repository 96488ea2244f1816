namespace Unisharp.Simulation;

/// <summary>
/// Something that runs inside a <see cref="SimulatedNetwork"/>: a stack, a test peer, a traffic source.
/// The network drives it with the same two calls a real I/O loop makes, always passing virtual time.
/// </summary>
public interface ISimulatedNode
{
    /// <summary>Does all work due at <paramref name="now"/>: reads frames from its devices, runs timers, transmits.</summary>
    void Poll(Instant now);

    /// <summary>The next instant the node needs a <see cref="Poll"/>; <see cref="Instant.Never"/> if none.</summary>
    /// <remarks>Frames arriving on the node's devices cause a poll anyway; this is only for the node's own timers.</remarks>
    Instant PollAt(Instant now);
}
