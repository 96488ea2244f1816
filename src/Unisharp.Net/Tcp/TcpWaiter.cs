using System.Threading.Tasks.Sources;

namespace Unisharp.Net.Tcp;

/// <summary>
/// A reusable wait for one app call at a time on a connection (a lingering close): armed under the layer's
/// lock, signalled by the poll after the lock is released, with no allocation per wait. On a threaded stack the
/// continuation runs on the thread pool, never on the I/O thread; in a simulation it runs inline, in virtual time.
/// </summary>
internal sealed class TcpWaiter(bool asynchronous) : IValueTaskSource, IThreadPoolWorkItem
{
    private const int Idle = 0;
    private const int Armed = 1;
    private const int Signalled = 2;

    private readonly bool _asynchronous = asynchronous;
    private ManualResetValueTaskSourceCore<bool> _core;
    private CancellationTokenRegistration _registration;
    private CancellationToken _token;
    private bool _canceled;
    private int _state;

    /// <summary>True while a call waits.</summary>
    public bool IsArmed => Volatile.Read(ref _state) == Armed;

    /// <summary>Starts a wait (under the layer's lock); it ends at <see cref="Signal"/> or when the token is canceled.</summary>
    /// <exception cref="InvalidOperationException">Another call of the same kind is already waiting on this connection.</exception>
    public ValueTask Arm(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _state) == Armed)
        {
            throw new InvalidOperationException("another call of this kind is already waiting on this connection");
        }
        _core.Reset();
        _token = cancellationToken;
        _canceled = false;
        Volatile.Write(ref _state, Armed);
        var wait = new ValueTask(this, _core.Version);
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(static waiter => ((TcpWaiter)waiter!).Complete(canceled: true), this);
        }
        return wait;
    }

    /// <summary>Ends the armed wait; false when none was armed (or it already ended).</summary>
    public bool Signal() => Complete(canceled: false);

    private bool Complete(bool canceled)
    {
        if (Interlocked.CompareExchange(ref _state, Signalled, Armed) != Armed)
        {
            return false;
        }
        _canceled = canceled;
        if (_asynchronous)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
        else
        {
            SetResult();
        }
        return true;
    }

    void IThreadPoolWorkItem.Execute() => SetResult();

    private void SetResult()
    {
        if (_canceled)
        {
            _core.SetException(new OperationCanceledException(_token));
        }
        else
        {
            _core.SetResult(true);
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        // The wait is over: the registration goes first (a no-op once its callback ran), then the outcome.
        var registration = _registration;
        _registration = default;
        registration.Dispose();
        Volatile.Write(ref _state, Idle);
        _core.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
