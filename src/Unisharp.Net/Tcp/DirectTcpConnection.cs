namespace Unisharp.Net.Tcp;

/// <summary>
/// The async face of one connection: waits on the core <see cref="TcpSocket"/>, which the stack's poll drives.
/// Waiters are completed by the poll after it releases the layer's lock; in a simulation (no I/O thread)
/// their continuations run inline, in virtual time.
/// </summary>
internal sealed class DirectTcpConnection : ITcpConnection
{
    private readonly TcpLayer _layer;
    private readonly TcpSocket _socket;
    private readonly Action _wake;
    private TaskCompletionSource? _readable;
    private TaskCompletionSource? _writable;
    private TaskCompletionSource? _handshake;
    private bool _disposed;

    public DirectTcpConnection(TcpLayer layer, TcpSocket socket, Action wake)
    {
        _layer = layer;
        _socket = socket;
        _wake = wake;
        socket.Changed = OnChanged;
    }

    public Ipv4Endpoint LocalEndpoint => _socket.Local;

    public Ipv4Endpoint RemoteEndpoint => _socket.Remote;

    internal TcpSocket Socket => _socket;

    /// <summary>Disables Nagle's algorithm (RFC 896) for this connection.</summary>
    public bool NoDelay
    {
        get { lock (_layer.Lock) { return _socket.NoDelay; } }
        set { lock (_layer.Lock) { _socket.NoDelay = value; } }
    }

    /// <summary>Turns keep-alive probes on or off for this connection.</summary>
    public bool KeepAlive
    {
        get { lock (_layer.Lock) { return _socket.KeepAlive; } }
        set { lock (_layer.Lock) { _socket.KeepAlive = value; } }
    }

    /// <summary>Waits for the handshake of an active open; throws when it was refused or timed out.</summary>
    public async ValueTask WaitConnectedAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_layer.Lock)
            {
                if (_socket.IsHandshakeDone)
                {
                    if (_socket.State == TcpState.Closed && _socket.Error is { } error)
                    {
                        throw error switch
                        {
                            NetworkError.ConnectionRefused => new NetworkException(error, $"connection to {_socket.Remote} refused"),
                            NetworkError.TimedOut => new NetworkException(error, $"connection to {_socket.Remote} timed out"),
                            _ => new NetworkException(error, $"connection to {_socket.Remote} failed: {error}"),
                        };
                    }
                    return;
                }
                _handshake ??= _layer.NewWaiter();
                wait = _handshake.Task;
            }
            await Wait(wait, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task wait;
            lock (_layer.Lock)
            {
                ThrowIfDisposed();
                int n = _socket.Receive(buffer.Span);
                if (n >= 0)
                {
                    // Reading may have opened the window enough to announce; only then does the I/O thread need waking.
                    if (n > 0 && _socket.WantsPoll)
                    {
                        _wake();
                    }
                    return n;
                }
                _readable ??= _layer.NewWaiter();
                wait = _readable.Task;
            }
            await Wait(wait, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        int written = 0;
        while (true)
        {
            Task wait;
            lock (_layer.Lock)
            {
                ThrowIfDisposed();
                written += _socket.Send(data.Span[written..]);
                if (written == data.Length)
                {
                    break;
                }
                _writable ??= _layer.NewWaiter();
                wait = _writable.Task;
            }
            _wake();
            await Wait(wait, cancellationToken).ConfigureAwait(false);
        }
        _wake();
    }

    public ValueTask ShutdownWriteAsync(CancellationToken cancellationToken = default)
    {
        lock (_layer.Lock)
        {
            ThrowIfDisposed();
            _socket.Shutdown();
        }
        _wake();
        return ValueTask.CompletedTask;
    }

    public void Abort()
    {
        lock (_layer.Lock)
        {
            _socket.Abort();
        }
        _wake();
        OnChanged();
    }

    public ValueTask DisposeAsync()
    {
        lock (_layer.Lock)
        {
            if (_disposed)
            {
                return ValueTask.CompletedTask;
            }
            _disposed = true;
            _layer.Orphan(_socket);
        }
        _wake();
        Release();
        return ValueTask.CompletedTask;
    }

    /// <summary>Called after the poll changed the socket: wakes every waiter, which looks again under the lock.</summary>
    private void OnChanged() => Release();

    private void Release()
    {
        TaskCompletionSource? readable, writable, handshake;
        lock (_layer.Lock)
        {
            readable = _readable;
            writable = _writable;
            handshake = _handshake;
            bool failed = _socket.State == TcpState.Closed || _disposed;
            // Writers wake for a quarter of the buffer, not every acknowledged segment.
            if (!failed && writable is not null && _socket.SendFree < _socket.SendQueued / 3 && _socket.Error is null && _socket.State is not TcpState.TimeWait)
            {
                writable = null;
            }
            if (!failed && readable is not null && _socket.Readable == 0 && !_socket.ReceivedFin)
            {
                readable = null;
            }
            if (handshake is not null && !_socket.IsHandshakeDone)
            {
                handshake = null;
            }
            if (readable is not null)
            {
                _readable = null;
            }
            if (writable is not null)
            {
                _writable = null;
            }
            if (handshake is not null)
            {
                _handshake = null;
            }
        }
        readable?.TrySetResult();
        writable?.TrySetResult();
        handshake?.TrySetResult();
    }

    private static Task Wait(Task wait, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? wait.WaitAsync(cancellationToken) : wait;

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new NetworkException(NetworkError.Closed, $"the connection {_socket.Local} -> {_socket.Remote} was disposed");
        }
    }
}
