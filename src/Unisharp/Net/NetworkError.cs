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
    /// <summary>DNS: the name does not exist (NXDOMAIN) or has no address.</summary>
    NameNotFound,
    /// <summary>DNS: the server failed or refused to answer, or no server is configured.</summary>
    NameResolutionFailed,
    Other,
}
