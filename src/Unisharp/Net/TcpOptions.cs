namespace Unisharp.Net;

/// <summary>
/// The TCP settings an app may choose, for our stack and (where the host allows) the host's sockets. The defaults
/// suit a small server; every connection starts with <see cref="NoDelay"/> and <see cref="KeepAlive"/> and may change
/// them (<see cref="ITcpConnection.NoDelay"/>, <see cref="ITcpConnection.KeepAlive"/>).
/// </summary>
public sealed record TcpOptions
{
    /// <summary>
    /// Bytes a connection buffers on receive: the most it advertises as its window. Null for the stack's default
    /// (256 KiB on ours; on host sockets Linux's autotuning, which a set size turns off).
    /// </summary>
    public int? ReceiveBufferSize { get; init; }

    /// <summary>
    /// Receive window auto-tuning (our stack only): a connection's receive buffer starts at <see cref="ReceiveBufferSize"/>
    /// and doubles, up to this size, while the window limits the sender and the app keeps reading; all connections'
    /// buffers stay within the stack's total bound. Null (the default) for a fixed buffer. The window scale is chosen
    /// for this size.
    /// </summary>
    public int? MaxReceiveBufferSize { get; init; }

    /// <summary>Bytes a connection buffers on send, written but not yet acknowledged. Null for the stack's default (as above).</summary>
    public int? SendBufferSize { get; init; }

    /// <summary>Disables Nagle's algorithm (RFC 896) on new connections: small writes go out at once. Default off.</summary>
    public bool NoDelay { get; init; }

    /// <summary>Keep-alive probes on new connections (RFC 9293 §3.8.4); off by default, as RFC 1122 §4.2.3.6 requires.</summary>
    public bool KeepAlive { get; init; }

    /// <summary>Idle time before the first keep-alive probe. Default 2 hours.</summary>
    public TimeSpan KeepAliveIdle { get; init; } = TimeSpan.FromHours(2);

    /// <summary>Time between unanswered probes. Default 75 s.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(75);

    /// <summary>Unanswered probes before the connection is dropped. Default 9.</summary>
    public int KeepAliveProbes { get; init; } = 9;

    /// <summary>How the sender's rate and window are set (our stack only). Default BBR.</summary>
    public TcpCongestionControl CongestionControl { get; init; } = TcpCongestionControl.Bbr;

    /// <summary>
    /// Our stack only: TCP calls that had to wait (accept, connect, read, write, close) resume on the stack's I/O thread
    /// instead of the thread pool, as in a single-threaded unikernel: no thread hop per request, and an answer written
    /// there goes out in the same poll. The price: code that runs after such an await must not block (no synchronous
    /// waits, no long computation, no blocking I/O) until its next await, or the whole stack stalls. Default off.
    /// </summary>
    public bool InlineContinuations { get; init; }

    /// <exception cref="ArgumentOutOfRangeException">A buffer under 4 KiB or over 64 MiB (a maximum under the receive buffer), or a keep-alive value out of range.</exception>
    public void Validate()
    {
        if (ReceiveBufferSize is { } receive)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(receive, 4096, nameof(ReceiveBufferSize));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(receive, 64 << 20, nameof(ReceiveBufferSize));
        }
        if (MaxReceiveBufferSize is { } max)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(max, ReceiveBufferSize ?? 4096, nameof(MaxReceiveBufferSize));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(max, 64 << 20, nameof(MaxReceiveBufferSize));
        }
        if (SendBufferSize is { } send)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(send, 4096, nameof(SendBufferSize));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(send, 64 << 20, nameof(SendBufferSize));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(KeepAliveIdle, TimeSpan.FromSeconds(1));
        ArgumentOutOfRangeException.ThrowIfLessThan(KeepAliveInterval, TimeSpan.FromSeconds(1));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(KeepAliveProbes);
    }
}
