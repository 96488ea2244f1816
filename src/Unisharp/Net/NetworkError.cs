namespace Unisharp.Net;

/// <summary>Why a network operation failed (mirage's error variants).</summary>
public enum NetworkError
{
    ConnectionRefused,
    ConnectionReset,
    TimedOut,
    AddressInUse,
    HostUnreachable,
    /// <summary>The socket, listener or stack was closed.</summary>
    Closed,
    /// <summary>The message does not fit (a UDP datagram over 65507 bytes).</summary>
    MessageTooLong,
    Other,
}
