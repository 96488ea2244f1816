namespace Unisharp.Net;

/// <summary>TCP of the direct stack: not built yet, so every call fails clearly.</summary>
internal sealed class DirectTcp : ITcp
{
    private const string NotYet = "TCP is not implemented yet in the direct stack";

    public ITcpListener Listen(ushort port, int backlog = 128) => throw new NetworkException(NetworkError.Other, NotYet);

    public ValueTask<ITcpConnection> ConnectAsync(Ipv4Endpoint remote, CancellationToken cancellationToken = default) =>
        ValueTask.FromException<ITcpConnection>(new NetworkException(NetworkError.Other, NotYet));
}
