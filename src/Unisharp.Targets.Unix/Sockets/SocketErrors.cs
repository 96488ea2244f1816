using System.Net.Sockets;
using Unisharp.Net;

namespace Unisharp.Targets.Unix.Sockets;

/// <summary>Maps the host's socket errors onto the stack interfaces' <see cref="NetworkError"/>.</summary>
internal static class SocketErrors
{
    public static NetworkException Translate(SocketException e, string what)
    {
        var error = e.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => NetworkError.ConnectionRefused,
            SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown => NetworkError.ConnectionReset,
            SocketError.TimedOut => NetworkError.TimedOut,
            SocketError.AddressAlreadyInUse => NetworkError.AddressInUse,
            SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.AddressNotAvailable => NetworkError.HostUnreachable,
            SocketError.MessageSize => NetworkError.MessageTooLong,
            SocketError.OperationAborted or SocketError.NotSocket => NetworkError.Closed,
            _ => NetworkError.Other,
        };
        return new NetworkException(error, $"{what}: {e.Message}", e);
    }
}
