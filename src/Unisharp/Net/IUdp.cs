namespace Unisharp.Net;

/// <summary>UDP: datagram sockets bound to a local port.</summary>
public interface IUdp
{
    /// <summary>Binds <paramref name="port"/> (0 picks a free one) of the stack's address.</summary>
    /// <exception cref="NetworkException"><see cref="NetworkError.AddressInUse"/> when the port is taken.</exception>
    IUdpSocket Bind(ushort port);
}
