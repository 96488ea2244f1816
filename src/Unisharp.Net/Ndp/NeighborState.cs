namespace Unisharp.Net.Ndp;

/// <summary>The reachability states of a neighbour cache entry (RFC 4861 §7.3.2).</summary>
internal enum NeighborState : byte
{
    Free,
    /// <summary>Resolution in progress: multicast solicitations sent, no answer yet.</summary>
    Incomplete,
    /// <summary>Confirmed reachable within the reachable time.</summary>
    Reachable,
    /// <summary>Not confirmed lately; used, which starts a check.</summary>
    Stale,
    /// <summary>Used while stale: waiting a little for upper-layer confirmation before probing.</summary>
    Delay,
    /// <summary>Unicast solicitations sent to the cached MAC.</summary>
    Probe,
}
