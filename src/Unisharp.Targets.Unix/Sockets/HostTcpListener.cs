using System.Net.Sockets;
using Unisharp.Net;

namespace Unisharp.Targets.Unix.Sockets;

/// <summary>A listening host socket.</summary>
internal sealed class HostTcpListener(Socket socket, TcpOptions? options = null) : ITcpListener
{
    private volatile bool _disposed;

    public Ipv4Endpoint LocalEndpoint { get; } = HostSocketStack.FromEndPoint(socket.LocalEndPoint);

    public async ValueTask<ITcpConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        if (_disposed)
        {
            throw new NetworkException(NetworkError.Closed, $"listener on {LocalEndpoint} is closed");
        }
        try
        {
            var accepted = await socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            return new HostTcpConnection(accepted, options);
        }
        catch (SocketException e)
        {
            throw SocketErrors.Translate(e, $"accept on {LocalEndpoint}");
        }
        catch (ObjectDisposedException)
        {
            throw new NetworkException(NetworkError.Closed, $"listener on {LocalEndpoint} is closed");
        }
    }

    public ValueTask DisposeAsync()
    {
        _disposed = true;
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
