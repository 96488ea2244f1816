using System.Net;
using Microsoft.AspNetCore.Connections;
using Unisharp.Net;

namespace Unisharp.AspNetCore;

/// <summary>A listening port of our stack as Kestrel sees it: accepted connections become <see cref="UnisharpConnection"/>s.</summary>
internal sealed class UnisharpConnectionListener(ITcpListener listener, IPEndPoint endPoint, UnisharpTransportOptions options) : IConnectionListener
{
    private int _unbound;

    public EndPoint EndPoint { get; } = endPoint;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        ITcpConnection tcp;
        try
        {
            tcp = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NetworkException e) when (e.Error == NetworkError.Closed)
        {
            // Unbound: Kestrel's accept loop ends on null.
            return null;
        }
        catch (OperationCanceledException) when (Volatile.Read(ref _unbound) != 0)
        {
            return null;
        }
        if (options.NoDelay)
        {
            try
            {
                tcp.NoDelay = true;
            }
            catch (NotSupportedException)
            {
                // A connection without the switch keeps Nagle.
            }
        }
        return new UnisharpConnection(tcp, options);
    }

    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _unbound, 1) == 0)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => UnbindAsync();
}
