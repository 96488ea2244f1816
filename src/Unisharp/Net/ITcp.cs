namespace Unisharp.Net;

/// <summary>TCP: passive and active opens.</summary>
public interface ITcp
{
    /// <summary>Starts listening on <paramref name="port"/> of the stack's address.</summary>
    /// <param name="backlog">How many established connections may wait for <see cref="ITcpListener.AcceptAsync"/>.</param>
    /// <exception cref="NetworkException"><see cref="NetworkError.AddressInUse"/> when the port is taken.</exception>
    ITcpListener Listen(ushort port, int backlog = 128);

    /// <summary>Opens a connection to <paramref name="remote"/>.</summary>
    /// <exception cref="NetworkException">Refused, unreachable or timed out.</exception>
    ValueTask<ITcpConnection> ConnectAsync(Ipv4Endpoint remote, CancellationToken cancellationToken = default);
}
