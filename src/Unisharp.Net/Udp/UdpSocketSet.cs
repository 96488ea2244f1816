namespace Unisharp.Net.Udp;

/// <summary>
/// The bound UDP ports. Binding happens on app threads while the I/O thread looks sockets up on every
/// datagram, so the set is an immutable array replaced under a lock: lookups take no lock and allocate nothing.
/// </summary>
internal sealed class UdpSocketSet
{
    /// <summary>The IANA dynamic port range (RFC 6335 §6), used for port 0.</summary>
    public const int EphemeralFirst = 49152;
    public const int EphemeralCount = 65536 - EphemeralFirst;

    private readonly Lock _lock = new();
    private volatile UdpSocketCore[] _sockets = [];
    private int _nextEphemeral;

    /// <param name="seed">Where the search for a free ephemeral port starts (RFC 6056 §3.3.1 randomises it).</param>
    public UdpSocketSet(uint seed) => _nextEphemeral = (int)(seed % EphemeralCount);

    public UdpSocketCore[] Sockets => _sockets;

    /// <summary>True for receive continuations that must not run on the polling thread (a threaded stack, the default).</summary>
    public bool AsynchronousContinuations { get; set; } = true;

    public UdpSocketCore? Find(ushort port)
    {
        foreach (var socket in _sockets)
        {
            if (socket.Port == port)
            {
                return socket;
            }
        }
        return null;
    }

    /// <exception cref="NetworkException"><see cref="NetworkError.AddressInUse"/> when the port is bound, or no ephemeral port is free.</exception>
    public UdpSocketCore Bind(ushort port, int bufferBytes = UdpSocketCore.DefaultBufferBytes)
    {
        lock (_lock)
        {
            if (port == 0)
            {
                for (int tries = 0; tries < EphemeralCount && port == 0; tries++)
                {
                    ushort candidate = (ushort)(EphemeralFirst + _nextEphemeral);
                    _nextEphemeral = (_nextEphemeral + 1) % EphemeralCount;
                    if (Find(candidate) is null)
                    {
                        port = candidate;
                    }
                }
                if (port == 0)
                {
                    throw new NetworkException(NetworkError.AddressInUse, "no ephemeral UDP port is free");
                }
            }
            else if (Find(port) is not null)
            {
                throw new NetworkException(NetworkError.AddressInUse, $"UDP port {port} is already bound");
            }
            var socket = new UdpSocketCore(port, bufferBytes, asynchronousContinuations: AsynchronousContinuations);
            _sockets = [.. _sockets, socket];
            return socket;
        }
    }

    public void Unbind(UdpSocketCore socket)
    {
        lock (_lock)
        {
            _sockets = Array.FindAll(_sockets, s => s != socket);
        }
        socket.Close();
    }

    public void CloseAll()
    {
        UdpSocketCore[] sockets;
        lock (_lock)
        {
            sockets = _sockets;
            _sockets = [];
        }
        foreach (var socket in sockets)
        {
            socket.Close();
        }
    }
}
