using Unisharp.Net.Udp;
using Unisharp.Net.Wire;

namespace Unisharp.Net;

/// <summary>The async face of a bound UDP port: waits on the core socket, which the I/O thread's poll fills and drains.</summary>
internal sealed class DirectUdpSocket(DirectStack stack, UdpSocketCore core) : IUdpSocket
{
    private readonly Action _wake = stack.Wake;

    public Ipv4Endpoint LocalEndpoint => new(stack.Address, core.Port);

    internal UdpSocketCore Core => core;

    public ValueTask<UdpReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        core.ReceiveAsync(buffer, cancellationToken);

    public ValueTask SendAsync(ReadOnlyMemory<byte> payload, Ipv4Endpoint remote, CancellationToken cancellationToken = default)
    {
        if (payload.Length > UdpRepr.MaxPayloadLength)
        {
            return ValueTask.FromException(new NetworkException(NetworkError.MessageTooLong,
                $"a UDP datagram of {payload.Length} bytes is over the {UdpRepr.MaxPayloadLength}-byte limit"));
        }
        if (remote.Port == 0)
        {
            return ValueTask.FromException(new ArgumentException("UDP port 0 cannot be a destination", nameof(remote)));
        }
        var address = stack.Interface.Address;
        if (address is null)
        {
            return ValueTask.FromException(new NetworkException(NetworkError.HostUnreachable,
                $"cannot send to {remote}: the stack has no address yet"));
        }
        if (remote.Address.IsUnspecified || (!address.Cidr.Contains(remote.Address) && address.Gateway is null
            && !remote.Address.IsBroadcast && !remote.Address.IsMulticast))
        {
            return ValueTask.FromException(new NetworkException(NetworkError.HostUnreachable,
                $"no route to {remote.Address}: it is outside {address.Cidr} and there is no gateway"));
        }
        return core.SendAsync(payload, remote, _wake, cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        stack.Interface.Udp.Unbind(core);
        return ValueTask.CompletedTask;
    }
}
