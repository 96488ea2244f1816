using Unisharp.Devices;

namespace Unisharp.Net.Tcp;

/// <summary>The async face of a listening port: hands out connections from the core listener's accept queue.</summary>
internal sealed class DirectTcpListener : ITcpListener
{
    private readonly TcpLayer _layer;
    private readonly TcpListenerCore _core;
    private readonly Action _wake;
    private readonly IClock _clock;
    private TaskCompletionSource? _accept;

    public DirectTcpListener(TcpLayer layer, TcpListenerCore core, Ipv4Endpoint local, Action wake, IClock clock)
    {
        _clock = clock;
        _layer = layer;
        _core = core;
        _wake = wake;
        LocalEndpoint = local;
        core.Changed = OnChanged;
    }

    public Ipv4Endpoint LocalEndpoint { get; }

    internal TcpListenerCore Core => _core;

    public async ValueTask<ITcpConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task wait;
            lock (_layer.Lock)
            {
                if (_core.IsClosed)
                {
                    throw new NetworkException(NetworkError.Closed, $"TCP listener on port {_core.Port} is closed");
                }
                if (_core.Accepted.TryDequeue(out var socket))
                {
                    var connection = new DirectTcpConnection(_layer, socket, _wake, _clock);
                    // The socket may have changed while it waited in the queue; let the poll look again.
                    _layer.QueueNotify(socket);
                    return connection;
                }
                _accept ??= _layer.NewWaiter();
                wait = _accept.Task;
            }
            await (cancellationToken.CanBeCanceled ? wait.WaitAsync(cancellationToken) : wait).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync()
    {
        lock (_layer.Lock)
        {
            _layer.Unlisten(_core);
        }
        _wake();
        OnChanged();
        return ValueTask.CompletedTask;
    }

    private void OnChanged()
    {
        TaskCompletionSource? accept;
        lock (_layer.Lock)
        {
            accept = _accept;
            _accept = null;
        }
        accept?.TrySetResult();
    }
}
