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
    /// <summary>SYN-ACKs sent with a cookie while the half-open table was full (RFC 4987 §3.6).</summary>
    public long SynCookiesSent { get; set; }
    /// <summary>Connections made from a cookie an ACK returned.</summary>
    public long SynCookiesAccepted { get; set; }
    /// <summary>ACKs to a listener whose cookie did not check out while cookies may be out (dropped).</summary>
    public long SynCookiesFailed { get; set; }

    /// <summary>Segments to a listener with neither SYN nor ACK (RFC 9293 §3.10.7.2), dropped.</summary>
    public long ListenerSegmentsDropped { get; set; }
    /// <summary>Segments from a broadcast, multicast or unspecified source, dropped.</summary>
    public long NonUnicastSourceDropped { get; set; }
    public long TimeWaitEvicted { get; set; }
    public long ConnectionsRefusedForMemory { get; set; }
    public long ConnectionsAccepted { get; set; }
    /// <summary>Receive buffers doubled by window auto-tuning.</summary>
    public long ReceiveBufferGrowths { get; set; }
    /// <summary>Growths skipped because all connections' buffers were near the total bound.</summary>
    public long ReceiveBufferGrowthsRefused { get; set; }
}
