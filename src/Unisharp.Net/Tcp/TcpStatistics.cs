namespace Unisharp.Net.Tcp;

/// <summary>Counters of the TCP layer (written under its lock; read them for tests and diagnostics).</summary>
internal sealed class TcpStatistics
{
    public long SegmentsReceived { get; set; }
    public long SegmentsSent { get; set; }
    public long MalformedSegments { get; set; }
    public long BadChecksums { get; set; }
    public long ResetsSent { get; set; }
    public long ResetsReceived { get; set; }
    public long ChallengeAcks { get; set; }
    public long ResetsRateLimited { get; set; }
    public long Retransmissions { get; set; }
    public long Timeouts { get; set; }
    public long FastRecoveries { get; set; }
    public long SackRecoveries { get; set; }
    public long TailLossProbes { get; set; }
    public long KeepAlivesSent { get; set; }
    public long WindowProbesSent { get; set; }
    public long SynsDropped { get; set; }
    public long HalfOpenEvicted { get; set; }
    public long TimeWaitEvicted { get; set; }
    public long ConnectionsRefusedForMemory { get; set; }
    public long ConnectionsAccepted { get; set; }
    /// <summary>Receive buffers doubled by window auto-tuning.</summary>
    public long ReceiveBufferGrowths { get; set; }
    /// <summary>Growths skipped because all connections' buffers were near the total bound.</summary>
    public long ReceiveBufferGrowthsRefused { get; set; }
}
