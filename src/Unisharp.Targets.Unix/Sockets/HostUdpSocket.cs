using System.Net;
using System.Net.Sockets;
using Unisharp.Net;
using UdpReceiveResult = Unisharp.Net.UdpReceiveResult;

namespace Unisharp.Targets.Unix.Sockets;

/// <summary>A bound host UDP socket. One receive and one send may be in progress at a time.</summary>
internal sealed class HostUdpSocket(Socket socket) : IUdpSocket
{
    private readonly SocketAddress _receiveAddress = new(AddressFamily.InterNetwork);
    private readonly SocketAddress _sendAddress = new(AddressFamily.InterNetwork);

    public Ipv4Endpoint LocalEndpoint { get; } = HostSocketStack.FromEndPoint(socket.LocalEndPoint);

    public async ValueTask<UdpReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            int n = await socket.ReceiveFromAsync(buffer, SocketFlags.None, _receiveAddress, cancellationToken).ConfigureAwait(false);
            return new UdpReceiveResult(n, ReadAddress(_receiveAddress));
        }
        catch (SocketException e)
        {
            throw SocketErrors.Translate(e, $"receive on UDP {LocalEndpoint}");
        }
        catch (ObjectDisposedException)
        {
            throw new NetworkException(NetworkError.Closed, $"UDP socket {LocalEndpoint} is closed");
        }
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> payload, Ipv4Endpoint remote, CancellationToken cancellationToken = default)
    {
        WriteAddress(_sendAddress, remote);
        try
        {
            await socket.SendToAsync(payload, SocketFlags.None, _sendAddress, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw SocketErrors.Translate(e, $"send to {remote}");
        }
        catch (ObjectDisposedException)
        {
            throw new NetworkException(NetworkError.Closed, $"UDP socket {LocalEndpoint} is closed");
        }
    }

    // struct sockaddr_in: family (2 bytes), port (2, network order), address (4, network order).
    private static Ipv4Endpoint ReadAddress(SocketAddress address)
    {
        var bytes = address.Buffer.Span;
        return new Ipv4Endpoint(Ipv4Address.Read(bytes[4..8]), (ushort)(bytes[2] << 8 | bytes[3]));
    }

    private static void WriteAddress(SocketAddress address, Ipv4Endpoint endpoint)
    {
        var bytes = address.Buffer.Span;
        bytes[2] = (byte)(endpoint.Port >> 8);
        bytes[3] = (byte)endpoint.Port;
        endpoint.Address.Write(bytes[4..8]);
    }

    public ValueTask DisposeAsync()
    {
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
