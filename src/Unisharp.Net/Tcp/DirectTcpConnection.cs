using System.Runtime.CompilerServices;
using Unisharp.Devices;

namespace Unisharp.Net.Tcp;

/// <summary>
/// The async face of one connection: waits on the core <see cref="TcpSocket"/>, which the stack's poll drives.
/// Waiters are signalled by the poll after it releases the layer's lock; in a simulation (no I/O thread)
/// their continuations run inline, in virtual time. Reads, writes and closes wait on reusable
/// <see cref="TcpWaiter"/>s, so a steady transfer allocates nothing.
/// </summary>
internal sealed class DirectTcpConnection : ITcpConnection
{
    private readonly TcpLayer _layer;
    private readonly TcpSocket _socket;
    private readonly Action _wake;
    private readonly IClock _clock;
    private readonly TcpWaiter _readable;
    private readonly TcpWaiter _writable;
    private readonly TcpWaiter _closed;
    private TaskCompletionSource? _handshake;
    private bool _disposed;

    public DirectTcpConnection(TcpLayer layer, TcpSocket socket, Action wake, IClock clock)
    {
        _layer = layer;
        _socket = socket;
        _wake = wake;
        _clock = clock;
        _readable = new TcpWaiter(layer.AsynchronousContinuations);
        _writable = new TcpWaiter(layer.AsynchronousContinuations);
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
            await (cancellationToken.CanBeCanceled ? wait.WaitAsync(cancellationToken) : wait).ConfigureAwait(false);
        }
    }

    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ValueTask wait;
        try
        {
            if (TryRead(buffer.Span, cancellationToken, out wait) is int n)
            {
                return new ValueTask<int>(n);
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException<int>(e);
        }
        return ReadAfterWaitAsync(wait, buffer, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadAfterWaitAsync(ValueTask wait, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            await wait.ConfigureAwait(false);
            if (TryRead(buffer.Span, cancellationToken, out wait) is int n)
            {
                return n;
            }
        }
    }

    /// <summary>Reads what is there (the count, 0 at the end), or arms the read waiter and returns null.</summary>
    private int? TryRead(Span<byte> buffer, CancellationToken cancellationToken, out ValueTask wait)
    {
        lock (_layer.Lock)
        {
            ThrowIfDisposed();
            int n = _socket.Receive(buffer);
            if (n >= 0)
            {
                // Reading may have opened the window enough to announce; only then does the I/O thread need waking.
                if (n > 0 && _socket.WantsPoll)
                {
                    _wake();
                }
                wait = default;
                return n;
            }
            cancellationToken.ThrowIfCancellationRequested();
            wait = _readable.Arm(cancellationToken);
            return null;
        }
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ValueTask wait;
        int written;
        try
        {
            written = TryWrite(data.Span, 0, cancellationToken, out wait);
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
        _wake();
        return written == data.Length ? default : WriteAfterWaitAsync(wait, data, written, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteAfterWaitAsync(ValueTask wait, ReadOnlyMemory<byte> data, int written, CancellationToken cancellationToken)
    {
        while (written < data.Length)
        {
            await wait.ConfigureAwait(false);
            written = TryWrite(data.Span, written, cancellationToken, out wait);
            _wake();
        }
    }

    /// <summary>Queues what fits after <paramref name="written"/> bytes; arms the write waiter when some is left.</summary>
    private int TryWrite(ReadOnlySpan<byte> data, int written, CancellationToken cancellationToken, out ValueTask wait)
    {
        lock (_layer.Lock)
        {
            ThrowIfDisposed();
            written += _socket.Send(data[written..]);
            wait = default;
            if (written < data.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                wait = _writable.Arm(cancellationToken);
            }
            return written;
        }
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
            writable = _writable.IsArmed
                && (failed || _socket.Error is not null || _socket.State is TcpState.TimeWait || _socket.SendFree >= _socket.SendQueued / 3);
            readable = _readable.IsArmed && (failed || _socket.Readable > 0 || _socket.ReceivedFin);
            closed = _closed.IsArmed && (_disposed || _socket.IsCloseDone);
            handshake = _handshake is not null && _socket.IsHandshakeDone ? _handshake : null;
            if (handshake is not null)
            {
                _handshake = null;
            }
        }
        if (readable)
        {
            _readable.Signal();
        }
        if (writable)
        {
            _writable.Signal();
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
}
