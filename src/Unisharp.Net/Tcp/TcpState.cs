namespace Unisharp.Net.Tcp;

/// <summary>Connection states (RFC 9293 §3.3.2); LISTEN is a listener, not a socket.</summary>
internal enum TcpState
{
    Closed,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}
