using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Unisharp.Logging;
using Unisharp.Net;

namespace Unisharp.AspNetCore;

/// <summary>
/// Kestrel's own socket transport under <c>--net socket</c>, held to the unikernel's address: an IPv4 "any" endpoint
/// binds the address of <c>--ipv4</c> (as our transport and the host-socket stack do), never all of the host's.
/// </summary>
internal sealed class HostSocketListenerFactory(Ipv4Address address, IConnectionListenerFactory sockets, Logger? log)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint { AddressFamily: AddressFamily.InterNetwork };

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint { AddressFamily: AddressFamily.InterNetwork } ip)
        {
            // As our transport: Kestrel's ListenAnyIP tries IPv6 first and falls back to IPv4 on this.
            throw new NotSupportedException($"the unikernel serves IPv4 only, not {endpoint}");
        }
        var ours = UnisharpConnection.ToIPEndPoint(new Ipv4Endpoint(address, (ushort)ip.Port)).Address;
        if (!address.IsUnspecified)
        {
            if (!ip.Address.Equals(IPAddress.Any) && !ip.Address.Equals(ours))
            {
                throw new InvalidOperationException($"{ip.Address} is not the unikernel's address {address}");
            }
            endpoint = new IPEndPoint(ours, ip.Port);
        }
        var listener = await sockets.BindAsync(endpoint, cancellationToken);
        log?.Info("aspnet", $"Kestrel listening on {listener.EndPoint} (Kestrel's socket transport on the host's sockets)");
        return listener;
    }
}
