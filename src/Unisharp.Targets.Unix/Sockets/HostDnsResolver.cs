using System.Net;
using System.Net.Sockets;
using Unisharp.Net;

namespace Unisharp.Targets.Unix.Sockets;

/// <summary>The host's resolver (<see cref="System.Net.Dns"/>: /etc/hosts, resolv.conf) for apps on host sockets.</summary>
internal sealed class HostDnsResolver : IDnsResolver
{
    public async ValueTask<IReadOnlyList<Ipv4Address>> ResolveAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Ipv4Address.TryParse(name, null, out var literal))
        {
            return [literal];
        }
        IPAddress[] found;
        try
        {
            found = await System.Net.Dns.GetHostAddressesAsync(name, AddressFamily.InterNetwork, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.HostNotFound)
        {
            throw new NetworkException(NetworkError.NameNotFound, $"cannot resolve {name}: {e.Message}", e);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TryAgain)
        {
            throw new NetworkException(NetworkError.TimedOut, $"cannot resolve {name}: {e.Message}", e);
        }
        catch (SocketException e)
        {
            throw new NetworkException(NetworkError.NameResolutionFailed, $"cannot resolve {name}: {e.Message}", e);
        }
        var addresses = new List<Ipv4Address>(found.Length);
        Span<byte> bytes = stackalloc byte[4];
        foreach (var address in found)
        {
            if (address.AddressFamily == AddressFamily.InterNetwork && address.TryWriteBytes(bytes, out _))
            {
                addresses.Add(Ipv4Address.Read(bytes));
            }
        }
        return addresses.Count > 0
            ? addresses
            : throw new NetworkException(NetworkError.NameNotFound, $"cannot resolve {name}: the name has no IPv4 address");
    }
}
