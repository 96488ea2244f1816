namespace Unisharp.Net;

/// <summary>A bound UDP port: datagrams in and out, each whole.</summary>
public interface IUdpSocket : IAsyncDisposable
{
    Ipv4Endpoint LocalEndpoint { get; }

    /// <summary>Waits for the next datagram and copies it into <paramref name="buffer"/> (truncated to fit).</summary>
    ValueTask<UdpReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>Sends <paramref name="payload"/> as one datagram to <paramref name="remote"/>.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> payload, Ipv4Endpoint remote, CancellationToken cancellationToken = default);
}
