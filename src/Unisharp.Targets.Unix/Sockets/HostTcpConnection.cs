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

    /// <summary>
    /// shutdown(SHUT_WR), then watches TCP_INFO until the kernel's connection has its FIN acknowledged (FIN-WAIT-2,
    /// TIME-WAIT, or CLOSE without an error) or <paramref name="timeout"/> passes (then a reset, as SO_LINGER does).
    /// </summary>
    public async ValueTask<bool> CloseAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        if (Volatile.Read(ref _closed) != 0)
        {
            return false;
        }
        bool timedOut = false;
        try
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
                // Reset already: the close cannot be graceful.
                return false;
            }
            long deadline = Environment.TickCount64 + (long)Math.Min(timeout.TotalMilliseconds, int.MaxValue);
            int pause = 1;
            while (true)
            {
                int state = KernelState(out int error);
                if (state is TcpStateFinWait2 or TcpStateTimeWait or TcpStateClose || state < 0)
                {
                    // CLOSE also follows a reset: then SO_ERROR is set, or segments were left unacknowledged.
                    return error == 0 && (state is TcpStateFinWait2 or TcpStateTimeWait || UnacknowledgedSegments() == 0);
                }
                if (Environment.TickCount64 >= deadline)
                {
                    timedOut = true;
                    return false;
                }
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                pause = Math.Min(pause * 2, 20);
            }
        }
        finally
        {
            if (timedOut)
            {
                Abort();
            }
            else
            {
                await DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    // Linux's TCP states (include/net/tcp_states.h) and struct tcp_info offsets.
    private const int TcpStateFinWait2 = 5;
    private const int TcpStateTimeWait = 6;
    private const int TcpStateClose = 7;
    private const int SolTcp = 6;
    private const int TcpInfo = 11;
    private const int TcpInfoUnackedOffset = 24;

    /// <summary>The kernel's state of this connection (tcpi_state) and its pending error (SO_ERROR).</summary>
    private int KernelState(out int error)
    {
        Span<byte> info = stackalloc byte[104];
        int length = _socket.GetRawSocketOption(SolTcp, TcpInfo, info);
        error = (int)_socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        return length > 0 ? info[0] : -1;
    }

    /// <summary>tcpi_unacked: segments sent and not acknowledged.</summary>
    private int UnacknowledgedSegments()
    {
        Span<byte> info = stackalloc byte[104];
        int length = _socket.GetRawSocketOption(SolTcp, TcpInfo, info);
        return length >= TcpInfoUnackedOffset + 4 ? BitConverter.ToInt32(info[TcpInfoUnackedOffset..]) : -1;
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
