using System.Net;
using System.Net.Sockets;
using Unisharp.Net;

namespace Unisharp.Targets.Unix.Sockets;

/// <summary>
/// The host kernel's TCP/IP behind the stack interfaces (Mirage's <c>--net=socket</c>): apps run unchanged
/// before, or without, our own stack. Binds to the address of <c>--ipv4</c>, or to all of the host's.
/// </summary>
public sealed class HostSocketStack : IStack, ITcp, IUdp
{
    private readonly IPAddress _bindAddress;
    private readonly TcpOptions? _tcp;

    /// <param name="tcp">The app's TCP options (buffer sizes, Nagle, keep-alive); the congestion control is the host's.</param>
    /// <exception cref="ArgumentOutOfRangeException">A TCP option is out of range.</exception>
    public HostSocketStack(Ipv4Address address, TcpOptions? tcp = null)
    {
        tcp?.Validate();
        _tcp = tcp;
        Address = address;
        _bindAddress = new IPAddress(ToNetworkBytes(address));
    }

    public ITcp Tcp => this;

    public IUdp Udp => this;

    public Ipv4Address Address { get; }

    public bool UsesHostSockets => true;

    /// <summary>The host's resolver: under host sockets, names resolve as for any process on the host.</summary>
    public IDnsResolver Dns { get; } = new HostDnsResolver();

    /// <summary>The host's TCP segment counters (InSegs, OutSegs of /proc/net/snmp): every socket in this network namespace.</summary>
    public TcpSegmentCounts? TcpSegments
    {
        get
        {
            try
            {
                string[] lines = File.ReadAllLines("/proc/net/snmp");
                for (int i = 0; i + 1 < lines.Length; i++)
                {
                    if (lines[i].StartsWith("Tcp:", StringComparison.Ordinal) && lines[i + 1].StartsWith("Tcp:", StringComparison.Ordinal))
                    {
                        string[] names = lines[i].Split(' ');
                        string[] values = lines[i + 1].Split(' ');
                        int inSegs = Array.IndexOf(names, "InSegs");
                        int outSegs = Array.IndexOf(names, "OutSegs");
                        if (inSegs > 0 && outSegs > 0 && values.Length == names.Length)
                        {
                            return new TcpSegmentCounts(long.Parse(values[inSegs]), long.Parse(values[outSegs]));
                        }
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
            return null;
        }
    }

    public ITcpListener Listen(ushort port, int backlog = 128)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Not ReuseAddress: on Linux .NET maps it to SO_REUSEPORT too, and two unikernels would share a port.
            socket.Bind(new IPEndPoint(_bindAddress, port));
            if (_tcp is not null)
            {
                // Buffer sizes set before listen() are inherited by accepted sockets, and sized their window scale.
                Apply(socket, _tcp);
            }
            socket.Listen(backlog);
            return new HostTcpListener(socket, _tcp);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw SocketErrors.Translate(e, $"listen on {Address}:{port}");
        }
    }

    public async ValueTask<ITcpConnection> ConnectAsync(Ipv4Endpoint remote, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (!Address.IsUnspecified)
            {
                socket.Bind(new IPEndPoint(_bindAddress, 0));
            }
            if (_tcp is not null)
            {
                Apply(socket, _tcp);
            }
            await socket.ConnectAsync(ToEndPoint(remote), cancellationToken).ConfigureAwait(false);
            return new HostTcpConnection(socket, _tcp);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw SocketErrors.Translate(e, $"connect to {remote}");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public IUdpSocket Bind(ushort port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(_bindAddress, port));
            return new HostUdpSocket(socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw SocketErrors.Translate(e, $"bind UDP {Address}:{port}");
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Sets the options the host's sockets have: buffer sizes, Nagle and keep-alive with its timers.</summary>
    internal static void Apply(Socket socket, TcpOptions options)
    {
        if (options.ReceiveBufferSize is { } receive)
        {
            socket.ReceiveBufferSize = receive;
        }
        if (options.SendBufferSize is { } send)
        {
            socket.SendBufferSize = send;
        }
        socket.NoDelay = options.NoDelay;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, options.KeepAlive);
        if (options.KeepAlive)
        {
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)options.KeepAliveIdle.TotalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)options.KeepAliveInterval.TotalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, options.KeepAliveProbes);
        }
    }

    internal static byte[] ToNetworkBytes(Ipv4Address address)
    {
        var bytes = new byte[4];
        address.Write(bytes);
        return bytes;
    }

    internal static IPEndPoint ToEndPoint(Ipv4Endpoint endpoint) => new(new IPAddress(ToNetworkBytes(endpoint.Address)), endpoint.Port);

    internal static Ipv4Endpoint FromEndPoint(EndPoint? endpoint)
    {
        if (endpoint is not IPEndPoint ip || ip.AddressFamily != AddressFamily.InterNetwork)
        {
            return default;
        }
        Span<byte> bytes = stackalloc byte[4];
        ip.Address.TryWriteBytes(bytes, out _);
        return new Ipv4Endpoint(Ipv4Address.Read(bytes), (ushort)ip.Port);
    }
}
