using System.Net.Sockets;
using Unisharp.Net;

namespace Unisharp.Targets.Unix.Sockets;

/// <summary>A connected host TCP socket.</summary>
internal sealed class HostTcpConnection : ITcpConnection
{
    private readonly Socket _socket;
    private int _closed;

    /// <param name="options">The app's TCP options; without them Nagle is off, as the host stack has always run.</param>
    public HostTcpConnection(Socket socket, TcpOptions? options = null)
    {
        _socket = socket;
        _socket.NoDelay = options?.NoDelay ?? true;
        if (options is not null)
        {
            HostSocketStack.Apply(socket, options);
        }
        LocalEndpoint = HostSocketStack.FromEndPoint(socket.LocalEndPoint);
        RemoteEndpoint = HostSocketStack.FromEndPoint(socket.RemoteEndPoint);
    }

    public Ipv4Endpoint LocalEndpoint { get; }

    public Ipv4Endpoint RemoteEndpoint { get; }

    public bool NoDelay
    {
        get => _socket.NoDelay;
        set => _socket.NoDelay = value;
    }

    public bool KeepAlive
    {
        get => (int)_socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)! != 0;
        set => _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, value);
    }

    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw SocketErrors.Translate(e, $"read from {RemoteEndpoint}");
        }
        catch (ObjectDisposedException)
        {
            throw new NetworkException(NetworkError.Closed, $"connection to {RemoteEndpoint} is closed");
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        try
        {
            while (!data.IsEmpty)
            {
                int n = await _socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                data = data[n..];
            }
        }
        catch (SocketException e)
        {
            throw SocketErrors.Translate(e, $"write to {RemoteEndpoint}");
        }
        catch (ObjectDisposedException)
        {
            throw new NetworkException(NetworkError.Closed, $"connection to {RemoteEndpoint} is closed");
        }
    }

    public ValueTask ShutdownWriteAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException e)
        {
            throw SocketErrors.Translate(e, $"shut down writing to {RemoteEndpoint}");
        }
        return ValueTask.CompletedTask;
    }

    public void Abort()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            // A zero linger time makes close send a reset and drop unsent data.
            _socket.LingerState = new LingerOption(true, 0);
            _socket.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // Already reset by the peer: nothing left to close gracefully.
            }
            _socket.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}
