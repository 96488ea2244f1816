using System.Net;
using System.Net.Http;

namespace Unisharp.Net;

/// <summary>
/// <see cref="SocketsHttpHandler"/> whose connections are the stack's TCP: the host name is resolved with the
/// stack's resolver and a connection opened to each address in turn. HTTPS works unchanged: the handler runs
/// TLS (SslStream) over the stream it is given.
/// </summary>
internal static class StackHttpHandler
{
    public static SocketsHttpHandler Create(IStack stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        return new SocketsHttpHandler
        {
            ConnectCallback = (context, cancellationToken) => ConnectAsync(stack, context.DnsEndPoint, cancellationToken),
            // A proxy from the environment would send every request to it rather than through our resolver.
            UseProxy = false,
            // Our resolver caches by TTL; pooled connections should not outlive a changed address by much.
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        };
    }

    private static async ValueTask<Stream> ConnectAsync(IStack stack, DnsEndPoint endpoint, CancellationToken cancellationToken)
    {
        if (endpoint.Port is <= 0 or > ushort.MaxValue)
        {
            throw new HttpRequestException($"port {endpoint.Port} of {endpoint.Host} is out of range");
        }
        IReadOnlyList<Ipv4Address> addresses;
        if (Ipv4Address.TryParse(endpoint.Host, null, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            var dns = stack.Dns ?? throw new HttpRequestException($"cannot resolve {endpoint.Host}: this stack has no resolver");
            addresses = await dns.ResolveAsync(endpoint.Host, cancellationToken).ConfigureAwait(false);
        }
        NetworkException? last = null;
        foreach (var address in addresses)
        {
            try
            {
                var connection = await stack.Tcp.ConnectAsync(new Ipv4Endpoint(address, (ushort)endpoint.Port), cancellationToken).ConfigureAwait(false);
                return connection.GetStream();
            }
            catch (NetworkException e)
            {
                last = e;
            }
        }
        throw last ?? new NetworkException(NetworkError.NameNotFound, $"cannot resolve {endpoint.Host}: no address");
    }
}
