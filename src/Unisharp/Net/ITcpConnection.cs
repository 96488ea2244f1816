using System.IO.Pipelines;

namespace Unisharp.Net;

/// <summary>
/// An established TCP connection: a byte stream each way. <see cref="GetStream"/> gives a
/// <see cref="Stream"/> over it for code that wants one.
/// </summary>
public interface ITcpConnection : IAsyncDisposable
{
    Ipv4Endpoint LocalEndpoint { get; }

    Ipv4Endpoint RemoteEndpoint { get; }

    /// <summary>Reads what has arrived, waiting for at least one byte; 0 once the peer has closed its side.</summary>
    /// <exception cref="NetworkException">The connection was reset or timed out.</exception>
    ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>Queues all of <paramref name="data"/> for sending, waiting while the send buffer is full.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Closes our sending side after what was written (a FIN); reading goes on.</summary>
    ValueTask ShutdownWriteAsync(CancellationToken cancellationToken = default);

    /// <summary>Drops the connection at once with a reset; unsent data is discarded.</summary>
    void Abort();

    /// <summary>
    /// Closes gracefully and waits for the end (a lingering close): our FIN goes after what was written, and the call
    /// completes once the peer has acknowledged it (true), or the connection ended another way, or
    /// <paramref name="timeout"/> passed, after which the connection is reset (false). The connection is disposed in
    /// every case. Data still arriving from the peer is discarded.
    /// </summary>
    /// <remarks>The default, for connections that cannot observe the acknowledgment, sends the FIN, disposes and returns true.</remarks>
    async ValueTask<bool> CloseAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await ShutdownWriteAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await DisposeAsync().ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>Disables Nagle's algorithm (RFC 896) on this connection: small writes go out at once.</summary>
    /// <exception cref="NotSupportedException">Setting it on a connection that has no such switch.</exception>
    bool NoDelay
    {
        get => false;
        set => throw new NotSupportedException("this connection has no Nagle switch");
    }

    /// <summary>Keep-alive probes on this connection while it is idle (RFC 9293 §3.8.4).</summary>
    /// <exception cref="NotSupportedException">Setting it on a connection that has no such switch.</exception>
    bool KeepAlive
    {
        get => false;
        set => throw new NotSupportedException("this connection has no keep-alive switch");
    }

    /// <summary>A <see cref="Stream"/> over this connection; disposing the stream closes the connection gracefully.</summary>
    Stream GetStream() => new TcpConnectionStream(this);

    /// <summary>
    /// An <see cref="IDuplexPipe"/> over this connection, which it then owns (Kestrel's transport seam).
    /// <see cref="IDuplexPipe.Input"/> holds what arrives and completes at the peer's FIN (with a
    /// <see cref="NetworkException"/> on a reset); <see cref="IDuplexPipe.Output"/> sends what is flushed. Completing the
    /// output sends our FIN; completing it with an exception, or completing the input before the end, aborts the
    /// connection (a reset). Once both directions are done the connection is disposed.
    /// </summary>
    /// <param name="options">Pool, schedulers and pause thresholds for both directions; <see cref="PipeOptions.Default"/> when null.</param>
    IDuplexPipe AsPipe(PipeOptions? options = null) => new TcpConnectionPipe(this, options ?? PipeOptions.Default);
}
