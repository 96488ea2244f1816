namespace Unisharp.Net.Udp;

/// <summary>
/// One bound UDP port in the synchronous core: a receive queue filled by the interface's poll and a send
/// queue it drains. App threads may use it concurrently with the I/O thread (one lock per socket).
/// Async receivers wait as <see cref="ReceiveAsync"/> waiters: a datagram that arrives while one waits is
/// copied straight into its buffer, so the waiter's result is settled by the poll that delivered it.
/// </summary>
internal sealed class UdpSocketCore
{
    public const int DefaultBufferBytes = 256 * 1024;
    public const int DefaultDatagrams = 256;

    private sealed class ReceiveWaiter(Memory<byte> buffer, TaskCreationOptions options)
    {
        public readonly Memory<byte> Buffer = buffer;
        public readonly TaskCompletionSource<UdpReceiveResult> Completion = new(options);
        public CancellationTokenRegistration Registration;
    }

    private readonly Lock _lock = new();
    private readonly DatagramRing _rx;
    private readonly DatagramRing _tx;
    private readonly Queue<ReceiveWaiter> _receivers = new();
    private TaskCompletionSource? _sendSpace;
    private readonly TaskCreationOptions _waiterOptions;
    private bool _closed;

    /// <param name="asynchronousContinuations">
    /// False on a stack polled by its caller (a simulator), so a receiver's continuation runs inline in the poll that
    /// delivered its datagram, at that virtual instant, rather than later on the thread pool.
    /// </param>
    public UdpSocketCore(ushort port, int bufferBytes = DefaultBufferBytes, int datagrams = DefaultDatagrams, bool asynchronousContinuations = true)
    {
        Port = port;
        _waiterOptions = asynchronousContinuations ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None;
        _rx = new DatagramRing(bufferBytes, datagrams);
        _tx = new DatagramRing(bufferBytes, datagrams);
    }

    public ushort Port { get; }

    public bool IsClosed
    {
        get
        {
            lock (_lock)
            {
                return _closed;
            }
        }
    }

    /// <summary>True when datagrams wait to be sent (the interface's poll should run now).</summary>
    public bool HasPendingSend
    {
        get
        {
            lock (_lock)
            {
                return !_tx.IsEmpty;
            }
        }
    }

    /// <summary>Takes the next received datagram, copied into <paramref name="buffer"/> (truncated to fit).</summary>
    public bool TryReceive(Span<byte> buffer, out UdpReceiveResult result)
    {
        lock (_lock)
        {
            if (!_rx.TryPeek(out var datagram, out var remote))
            {
                result = default;
                return false;
            }
            int n = Math.Min(datagram.Length, buffer.Length);
            datagram[..n].CopyTo(buffer);
            _rx.Dequeue();
            result = new UdpReceiveResult(n, remote);
            return true;
        }
    }

    /// <summary>Queues a datagram for the next poll; false when the send queue is full.</summary>
    public bool TrySend(ReadOnlySpan<byte> payload, Ipv4Endpoint remote)
    {
        lock (_lock)
        {
            if (_closed)
            {
                throw new NetworkException(NetworkError.Closed, $"UDP port {Port} is closed");
            }
            return _tx.TryEnqueue(payload, remote);
        }
    }

    public ValueTask<UdpReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ReceiveWaiter waiter;
        lock (_lock)
        {
            if (_closed)
            {
                return ValueTask.FromException<UdpReceiveResult>(new NetworkException(NetworkError.Closed, $"UDP port {Port} is closed"));
            }
            if (_rx.TryPeek(out var datagram, out var remote))
            {
                int n = Math.Min(datagram.Length, buffer.Length);
                datagram[..n].CopyTo(buffer.Span);
                _rx.Dequeue();
                return ValueTask.FromResult(new UdpReceiveResult(n, remote));
            }
            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<UdpReceiveResult>(cancellationToken);
            }
            waiter = new ReceiveWaiter(buffer, _waiterOptions);
            _receivers.Enqueue(waiter);
        }
        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.Register(() => CancelReceive(waiter, cancellationToken));
        }
        return new ValueTask<UdpReceiveResult>(waiter.Completion.Task);
    }

    /// <summary>Queues a datagram, waiting while the send queue is full.</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> payload, Ipv4Endpoint remote, Action wake, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task space;
            lock (_lock)
            {
                if (_closed)
                {
                    throw new NetworkException(NetworkError.Closed, $"UDP port {Port} is closed");
                }
                if (_tx.TryEnqueue(payload.Span, remote))
                {
                    break;
                }
                _sendSpace ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                space = _sendSpace.Task;
            }
            wake();
            await space.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        wake();
    }

    /// <summary>Called by the interface's poll: hands a received datagram to a waiter or queues it. False when full.</summary>
    public bool Deliver(ReadOnlySpan<byte> payload, Ipv4Endpoint remote)
    {
        ReceiveWaiter? waiter = null;
        int n = 0;
        lock (_lock)
        {
            if (_closed)
            {
                return false;
            }
            while (_receivers.Count > 0)
            {
                var candidate = _receivers.Dequeue();
                if (!candidate.Completion.Task.IsCompleted)
                {
                    waiter = candidate;
                    break;
                }
            }
            if (waiter is null)
            {
                return _rx.TryEnqueue(payload, remote);
            }
            n = Math.Min(payload.Length, waiter.Buffer.Length);
            payload[..n].CopyTo(waiter.Buffer.Span);
        }
        waiter.Registration.Dispose();
        if (!waiter.Completion.TrySetResult(new UdpReceiveResult(n, remote)))
        {
            // Cancelled at the same moment: keep the datagram for the next receiver.
            lock (_lock)
            {
                return _rx.TryEnqueue(payload, remote);
            }
        }
        return true;
    }

    /// <summary>Called by the interface's poll: where the next datagram to send goes, without taking it.</summary>
    public bool TryPeekSend(out Ipv4Endpoint remote)
    {
        lock (_lock)
        {
            return _tx.TryPeek(out _, out remote);
        }
    }

    /// <summary>Called by the interface's poll: copies the next datagram to send into <paramref name="destination"/>; -1 when none.</summary>
    public int TryDequeueSend(Span<byte> destination, out Ipv4Endpoint remote)
    {
        TaskCompletionSource? space;
        int n;
        lock (_lock)
        {
            if (!_tx.TryPeek(out var datagram, out remote))
            {
                return -1;
            }
            n = datagram.Length;
            datagram.CopyTo(destination);
            _tx.Dequeue();
            space = _sendSpace;
            _sendSpace = null;
        }
        space?.TrySetResult();
        return n;
    }

    /// <summary>Closes the socket: queued datagrams are discarded and waiters fail with <see cref="NetworkError.Closed"/>.</summary>
    public void Close()
    {
        ReceiveWaiter[] waiters;
        TaskCompletionSource? space;
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
            waiters = _receivers.ToArray();
            _receivers.Clear();
            _rx.Clear();
            _tx.Clear();
            space = _sendSpace;
            _sendSpace = null;
        }
        var closed = new NetworkException(NetworkError.Closed, $"UDP port {Port} is closed");
        foreach (var waiter in waiters)
        {
            waiter.Registration.Dispose();
            waiter.Completion.TrySetException(closed);
        }
        space?.TrySetResult();
    }

    private void CancelReceive(ReceiveWaiter waiter, CancellationToken cancellationToken)
    {
        // The waiter stays in the queue; Deliver skips completed ones.
        waiter.Completion.TrySetCanceled(cancellationToken);
    }
}
