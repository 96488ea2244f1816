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

    /// <summary>A <see cref="Stream"/> over this connection; disposing the stream closes the connection gracefully.</summary>
    Stream GetStream() => new TcpConnectionStream(this);
}
