namespace Unisharp.Net.Tcp;

/// <summary>
/// A reusable wait for one app call at a time on a connection (a lingering close): a <see cref="TcpOperation{T}"/>
/// that finishes at the first signal, so it shares the operations' arming, cancellation and scheduling (the thread
/// pool on a threaded stack, inline in a simulation) and allocates nothing per wait.
/// </summary>
internal sealed class TcpWaiter(bool asynchronous) : TcpOperation<bool>(asynchronous)
{
    /// <summary>Starts a wait (under the layer's lock); it ends at <see cref="TcpOperation{T}.Signal"/> or when the token is canceled.</summary>
    /// <exception cref="InvalidOperationException">Another call of the same kind is already waiting on this connection.</exception>
    public ValueTask Arm(CancellationToken cancellationToken) => new(this, Start(cancellationToken));

    protected override bool TryComplete(out bool result)
    {
        result = true;
        return true;
    }
}
