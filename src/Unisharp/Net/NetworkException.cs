namespace Unisharp.Net;

/// <summary>A network operation that failed, with the reason as a <see cref="NetworkError"/>.</summary>
public sealed class NetworkException(NetworkError error, string message, Exception? inner = null) : IOException(message, inner)
{
    public NetworkError Error { get; } = error;
}
