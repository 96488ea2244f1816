namespace Unisharp.Net.Tcp;

/// <summary>Limits and timers of the TCP layer; the defaults suit a small server.</summary>
internal sealed class TcpSettings
{
    /// <summary>A connection's receive buffer at the start: the window it first advertises.</summary>
    public int ReceiveBufferSize { get; init; } = 256 * 1024;
    /// <summary>
    /// The most a receive buffer grows to while the app keeps up and the window is what limits the sender (auto-tuning,
    /// as Linux's tcp_rmem maximum); at most <see cref="ReceiveBufferSize"/> for a fixed buffer, the default. The
    /// window scale is chosen for this size.
    /// </summary>
    /// <remarks>
    /// Off by default: on a local path a larger ring measured slower (bench/net: 256 KiB rings keep the data in the
    /// core's cache between the copy in and the app's read; 1 and 4 MiB rings did not, and cut throughput by a third).
    /// It pays on paths with a large bandwidth-delay product.
    /// </remarks>
    public int MaxReceiveBufferSize { get; init; }
    public int SendBufferSize { get; init; } = 256 * 1024;
    /// <summary>All connections' buffers together; a connection that would go over is refused.</summary>
    public long MaxBufferBytes { get; init; } = 64L * 1024 * 1024;
    /// <summary>Connections in SYN-RECEIVED at once (SYN flood bound); the oldest is evicted for a new one.</summary>
    public int MaxHalfOpen { get; init; } = 256;
    /// <summary>Connections in TIME-WAIT at once; the oldest ends early for a new one.</summary>
    public int MaxTimeWait { get; init; } = 4096;
    /// <summary>RFC 9293 §3.4.2: TIME-WAIT lasts 2 MSL; Linux uses 60 s.</summary>
    public Duration TimeWait { get; init; } = Duration.FromSeconds(60);
    /// <summary>How long an orphaned (disposed) connection may sit in FIN-WAIT-2.</summary>
    public Duration FinWait2Timeout { get; init; } = Duration.FromSeconds(60);
    /// <summary>RFC 1122 §4.2.3.2 allows up to 500 ms; Linux's minimum is 40 ms.</summary>
    public Duration DelayedAck { get; init; } = Duration.FromMilliseconds(40);
    /// <summary>Retransmissions of one segment before the connection times out.</summary>
    public int MaxRetransmissions { get; init; } = 12;
    /// <summary>Retransmissions of a SYN before a connect times out (1+2+4+8+16+32 s at the initial RTO).</summary>
    public int MaxSynRetransmissions { get; init; } = 5;
    public Duration KeepAliveIdle { get; init; } = Duration.FromSeconds(7200);
    public Duration KeepAliveInterval { get; init; } = Duration.FromSeconds(75);
    public int KeepAliveProbes { get; init; } = 9;
    /// <summary>Off by default, as RFC 1122 §4.2.3.6 requires; per connection on <see cref="TcpSocket.KeepAlive"/>.</summary>
    public bool KeepAlive { get; init; }
    public bool NoDelay { get; init; }
    public TcpCongestionControl CongestionControl { get; init; } = TcpCongestionControl.Bbr;
    /// <summary>Offer and use selective acknowledgments (RFC 2018) with SACK-based loss recovery (RFC 6675).</summary>
    public bool Sack { get; init; } = true;
    /// <summary>Continuations run on the polling thread even on a threaded stack (<see cref="TcpOptions.InlineContinuations"/>).</summary>
    public bool InlineContinuations { get; init; }

    /// <summary>The app's choices (<see cref="TcpOptions"/>) over the defaults.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static TcpSettings From(TcpOptions options)
    {
        options.Validate();
        var defaults = new TcpSettings();
        return new TcpSettings
        {
            ReceiveBufferSize = options.ReceiveBufferSize ?? defaults.ReceiveBufferSize,
            MaxReceiveBufferSize = options.MaxReceiveBufferSize ?? defaults.MaxReceiveBufferSize,
            SendBufferSize = options.SendBufferSize ?? defaults.SendBufferSize,
            NoDelay = options.NoDelay,
            KeepAlive = options.KeepAlive,
            KeepAliveIdle = Duration.FromMicroseconds((long)(options.KeepAliveIdle.TotalMilliseconds * 1000)),
            KeepAliveInterval = Duration.FromMicroseconds((long)(options.KeepAliveInterval.TotalMilliseconds * 1000)),
            KeepAliveProbes = options.KeepAliveProbes,
            CongestionControl = options.CongestionControl,
            InlineContinuations = options.InlineContinuations,
        };
    }
}
