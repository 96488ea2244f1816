namespace Unisharp.Devices.Middleware;

/// <summary>One injected fault and the sectors it left untransferred (those the request's exception names).</summary>
public readonly record struct BlockFault(BlockFaultKind Kind, long Sector, long SectorCount);
