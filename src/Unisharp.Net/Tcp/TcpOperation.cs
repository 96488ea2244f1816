using System.Threading.Tasks.Sources;

namespace Unisharp.Net.Tcp;

/// <summary>
/// A reusable pending call on a connection (one read or one write at a time): armed under the layer's lock, signalled by
/// the poll after the lock is released, then retried where it completes: on the thread pool for a threaded stack (never
/// on the I/O thread), inline in a simulation. No allocation per call, however often it waits.
/// </summary>
internal abstract class TcpOperation<T> : IValueTaskSource<T>, IValueTaskSource, IThreadPoolWorkItem
{
    private const int Idle = 0;
    private const int Armed = 1;
    private const int Signalled = 2;

    private readonly bool _asynchronous;
    private ManualResetValueTaskSourceCore<T> _core;
    private CancellationTokenRegistration _registration;
    private CancellationToken _token;
    private bool _canceled;
    private int _state;

    protected TcpOperation(bool asynchronous) => _asynchronous = asynchronous;

    /// <summary>True while the call waits for the connection.</summary>
    public bool IsArmed => Volatile.Read(ref _state) == Armed;

    /// <summary>
    /// Starts waiting (under the layer's lock) and returns the token of a <see cref="ValueTask{TResult}"/> (or
    /// <see cref="ValueTask"/>) over this source; <see cref="TryComplete"/> runs at each signal until it succeeds.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another call of the same kind is pending on this connection.</exception>
    protected short Start(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _state) != Idle)
        {
            throw new InvalidOperationException("another call of this kind is already pending on this connection");
        }
        _core.Reset();
        _token = cancellationToken;
        _canceled = false;
        Volatile.Write(ref _state, Armed);
        short version = _core.Version;
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(static operation => ((TcpOperation<T>)operation!).Complete(canceled: true), this);
        }
        return version;
    }

    /// <summary>Waits again after a signal that did not let the call finish (under the layer's lock).</summary>
    protected void Rearm() => Volatile.Write(ref _state, Armed);

    /// <summary>The connection changed: retry the call; false when none was waiting.</summary>
    public bool Signal() => Complete(canceled: false);

    /// <summary>Finishes the call (true, with its result) or rearms it (false); may throw the call's failure.</summary>
    protected abstract bool TryComplete(out T result);

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
            Run();
        }
        return true;
    }

    void IThreadPoolWorkItem.Execute() => Run();

    private void Run()
    {
        if (_canceled)
        {
            _core.SetException(new OperationCanceledException(_token));
            return;
        }
        try
        {
            if (TryComplete(out var result))
            {
                _core.SetResult(result);
            }
            else if (_token.IsCancellationRequested)
            {
                // Canceled while it was being retried: the callback found it busy, so end it here.
                Complete(canceled: true);
            }
        }
        catch (Exception e)
        {
            _core.SetException(e);
        }
    }

    T IValueTaskSource<T>.GetResult(short token)
    {
        // The call is over: the registration goes first (a no-op once its callback ran), then the outcome.
        var registration = _registration;
        _registration = default;
        registration.Dispose();
        Volatile.Write(ref _state, Idle);
        return _core.GetResult(token);
    }

    void IValueTaskSource.GetResult(short token) => ((IValueTaskSource<T>)this).GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<T>.GetStatus(short token) => _core.GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource<T>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
