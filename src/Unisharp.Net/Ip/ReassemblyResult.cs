namespace Unisharp.Net.Ip;

/// <summary>What <c>ReassemblyBuffer.Add</c> did with a fragment.</summary>
internal enum ReassemblyResult
{
    /// <summary>Stored; the datagram still has holes.</summary>
    Pending,
    /// <summary>The datagram is whole: read it with <c>ReassemblyBuffer.TakeCompleted</c>.</summary>
    Completed,
    /// <summary>The fragment only repeated bytes already held.</summary>
    Duplicate,
    /// <summary>The fragment overlapped held bytes or contradicted the datagram's end: the datagram was discarded.</summary>
    Overlap,
    /// <summary>No slot (or no hole descriptor) was free: the fragment was dropped.</summary>
    NoRoom,
}
