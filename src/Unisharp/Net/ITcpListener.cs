namespace Unisharp.Net;

/// <summary>A listening TCP port. Disposing it stops listening; connections already accepted stay open.</summary>
public interface ITcpListener : IAsyncDisposable
{
    Ipv4Endpoint LocalEndpoint { get; }

    /// <summary>Waits for the next established connection.</summary>
    /// <exception cref="NetworkException"><see cref="NetworkError.Closed"/> once the listener is disposed.</exception>
    ValueTask<ITcpConnection> AcceptAsync(CancellationToken cancellationToken = default);
}
