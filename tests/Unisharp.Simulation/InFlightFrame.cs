namespace Unisharp.Simulation;

/// <summary>A frame on its way to the switch, in a buffer rented from the shared pool.</summary>
internal readonly record struct InFlightFrame(SimulatedDevice Source, byte[] Buffer, int Length);
