using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Unisharp.Logging;
using Unisharp.Net;

namespace Unisharp.AspNetCore;

/// <summary>
/// Kestrel's transport seam over an <see cref="IStack"/>: binds IPv4 endpoints (the stack's address or any) to
/// listening ports of the stack's TCP.
/// </summary>
internal sealed class UnisharpTransportFactory(IStack stack, UnisharpTransportOptions options, Logger? log)
    : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint { AddressFamily: AddressFamily.InterNetwork };

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint { AddressFamily: AddressFamily.InterNetwork } ip)
        {
            // Kestrel's ListenAnyIP tries IPv6 first and falls back to IPv4 on this.
            throw new NotSupportedException($"the unikernel's stack serves IPv4 only, not {endpoint}");
        }
        if (ip.Port == 0)
        {
            throw new NotSupportedException("the unikernel's stack needs a port to listen on, not 0");
        }
        var ours = UnisharpConnection.ToIPEndPoint(new Ipv4Endpoint(stack.Address, (ushort)ip.Port));
        if (!ip.Address.Equals(IPAddress.Any) && !stack.Address.IsUnspecified && !ip.Address.Equals(ours.Address))
        {
            throw new InvalidOperationException($"{ip.Address} is not the unikernel's address {stack.Address}");
        }
        ITcpListener listener;
        try
        {
            listener = stack.Tcp.Listen((ushort)ip.Port);
        }
        catch (NetworkException e) when (e.Error == NetworkError.AddressInUse)
        {
            throw new AddressInUseException(e.Message, e);
        }
        var bound = stack.Address.IsUnspecified ? ip : ours;
        log?.Info("aspnet", $"Kestrel listening on {bound}");
        return ValueTask.FromResult<IConnectionListener>(new UnisharpConnectionListener(listener, bound, options));
    }
}
