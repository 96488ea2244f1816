namespace Unisharp.Simulation;

/// <summary>Sees each frame as it reaches the switch (after the sending link's loss), at virtual time <paramref name="now"/>.</summary>
public delegate void FrameObserver(Instant now, SimulatedDevice source, ReadOnlySpan<byte> frame);
