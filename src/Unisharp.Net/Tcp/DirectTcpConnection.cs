using Unisharp.Devices;

namespace Unisharp.Net.Tcp;

/// <summary>
/// The async face of one connection: waits on the core <see cref="TcpSocket"/>, which the stack's poll drives.
/// Waiters are signalled by the poll after it releases the layer's lock; in a simulation (no I/O thread)
/// their continuations run inline, in virtual time. Reads and writes that must wait are reusable
/// <see cref="TcpOperation{T}"/>s and a lingering close a reusable <see cref="TcpWaiter"/>, so a steady transfer
/// allocates nothing.
/// </summary>
internal sealed class DirectTcpConnection : ITcpConnection
{
    private readonly TcpLayer _layer;
    private readonly TcpSocket _socket;
    private readonly Action _wake;
    private readonly IClock _clock;
    private readonly ReadOperation _read;
    private readonly WriteOperation _write;
    private readonly TcpWaiter _closed;
    private TaskCompletionSource? _handshake;
    private bool _disposed;

    public DirectTcpConnection(TcpLayer layer, TcpSocket socket, Action wake, IClock clock)
    {
        _layer = layer;
        _socket = socket;
        _wake = wake;
        _clock = clock;
        _read = new ReadOperation(this);
        _write = new WriteOperation(this);
        _closed = new TcpWaiter(layer.AsynchronousContinuations);
        socket.Changed = OnChanged;
    }

    public Ipv4Endpoint LocalEndpoint => _socket.Local;

    public Ipv4Endpoint RemoteEndpoint => _socket.Remote;

    internal TcpSocket Socket => _socket;

    /// <summary>Disables Nagle's algorithm (RFC 896) for this connection.</summary>
    public bool NoDelay
    {
        get { lock (_layer.Lock) { return _socket.NoDelay; } }
        set { lock (_layer.Lock) { _socket.NoDelay = value; _layer.Touch(_socket); } }
    }

    /// <summary>Turns keep-alive probes on or off for this connection.</summary>
    public bool KeepAlive
    {
        get { lock (_layer.Lock) { return _socket.KeepAlive; } }
        set { lock (_layer.Lock) { _socket.KeepAlive = value; _layer.Touch(_socket); } }
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
            await (cancellationToken.CanBeCanceled ? wait.WaitAsync(cancellationToken) : wait).ConfigureAwait(false);
        }
    }

    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            lock (_layer.Lock)
            {
                if (TryReadLocked(buffer.Span) is int n)
                {
                    return new ValueTask<int>(n);
                }
                cancellationToken.ThrowIfCancellationRequested();
                return _read.Wait(buffer, cancellationToken);
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException<int>(e);
        }
    }

    /// <summary>Reads what is there: the count, 0 at the end, or null when the call must wait. Under the lock.</summary>
    private int? TryReadLocked(Span<byte> buffer)
    {
        ThrowIfDisposed();
        int n = _socket.Receive(buffer);
        if (n < 0)
        {
            return null;
        }
        // Reading may have opened the window enough to announce; only then does the I/O thread need waking.
        if (n > 0 && _socket.WantsPoll)
        {
            _wake();
        }
        return n;
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ValueTask pending = default;
        bool done;
        try
        {
            lock (_layer.Lock)
            {
                int written = TryWriteLocked(data.Span);
                done = written == data.Length;
                if (!done)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    pending = _write.Wait(data, written, cancellationToken);
                }
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
        _wake();
        return pending;
    }

    /// <summary>Queues what fits of <paramref name="data"/>; returns how much. Under the lock.</summary>
    private int TryWriteLocked(ReadOnlySpan<byte> data)
    {
        ThrowIfDisposed();
        return _socket.Send(data);
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

    /// <summary>
    /// Sends our FIN after what was written and waits until the peer acknowledges it, or the connection ends otherwise,
    /// or <paramref name="timeout"/> passes (then the connection is reset, as SO_LINGER does); disposes the connection.
    /// </summary>
    public async ValueTask<bool> CloseAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        var linger = Duration.FromMicroseconds((long)Math.Min(timeout.TotalMicroseconds, TimeSpan.FromDays(1).TotalMicroseconds));
        lock (_layer.Lock)
        {
            if (_disposed)
            {
                return false;
            }
            _socket.Close(_clock.Now + linger);
        }
        _wake();
        try
        {
            while (true)
            {
                ValueTask wait;
                lock (_layer.Lock)
                {
                    if (_socket.IsCloseDone)
                    {
                        return _socket.FinAcknowledged;
                    }
                    cancellationToken.ThrowIfCancellationRequested();
                    wait = _closed.Arm(cancellationToken);
                }
                await wait.ConfigureAwait(false);
            }
        }
        finally
        {
            await DisposeAsync().ConfigureAwait(false);
        }
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

    /// <summary>Called after the poll changed the socket: wakes every waiter whose call can now go on.</summary>
    private void OnChanged() => Release();

    private void Release()
    {
        bool readable, writable, closed;
        TaskCompletionSource? handshake;
        lock (_layer.Lock)
        {
            bool failed = _socket.State == TcpState.Closed || _disposed;
            // Writers wake for a third of the buffer, not every acknowledged segment.
            writable = _write.IsArmed
                && (failed || _socket.Error is not null || _socket.State is TcpState.TimeWait || _socket.SendFree >= _socket.SendQueued / 3);
            readable = _read.IsArmed && (failed || _socket.Readable > 0 || _socket.ReceivedFin);
            closed = _closed.IsArmed && (_disposed || _socket.IsCloseDone);
            handshake = _handshake is not null && _socket.IsHandshakeDone ? _handshake : null;
            if (handshake is not null)
            {
                _handshake = null;
            }
        }
        if (readable)
        {
            _read.Signal();
        }
        if (writable)
        {
            _write.Signal();
        }
        if (closed)
        {
            _closed.Signal();
        }
        handshake?.TrySetResult();
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new NetworkException(NetworkError.Closed, $"the connection {_socket.Local} -> {_socket.Remote} was disposed");
        }
    }

    /// <summary>A read that waits: retried at each signal, it copies into the caller's buffer where it completes.</summary>
    private sealed class ReadOperation(DirectTcpConnection connection) : TcpOperation<int>(connection._layer.AsynchronousContinuations)
    {
        private Memory<byte> _buffer;

        public ValueTask<int> Wait(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            _buffer = buffer;
            return new ValueTask<int>(this, Start(cancellationToken));
        }

        protected override bool TryComplete(out int result)
        {
            lock (connection._layer.Lock)
            {
                if (connection.TryReadLocked(_buffer.Span) is int n)
                {
                    _buffer = default;
                    result = n;
                    return true;
                }
                Rearm();
                result = 0;
                return false;
            }
        }
    }

    /// <summary>A write that waits for room: retried at each signal until all of it is queued.</summary>
    private sealed class WriteOperation(DirectTcpConnection connection) : TcpOperation<int>(connection._layer.AsynchronousContinuations)
    {
        private ReadOnlyMemory<byte> _data;
        private int _written;

        public ValueTask Wait(ReadOnlyMemory<byte> data, int written, CancellationToken cancellationToken)
        {
            _data = data;
            _written = written;
            return new ValueTask(this, Start(cancellationToken));
        }

        protected override bool TryComplete(out int result)
        {
            bool done;
            lock (connection._layer.Lock)
            {
                _written += connection.TryWriteLocked(_data.Span[_written..]);
                done = _written == _data.Length;
                if (done)
                {
                    _data = default;
                }
                else
                {
                    Rearm();
                }
            }
            connection._wake();
            result = _written;
            return done;
        }
    }
}
