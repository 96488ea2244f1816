using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Unisharp.Cli.Bench;

namespace Unisharp.Cli.Publishing;

/// <summary>
/// <c>unisharp run --publish</c>: listens on host ports in the tool's own (root) network namespace and forwards
/// each TCP connection and UDP client to the guest's address inside the unikernel's namespace. A socket stays in
/// the namespace it was made in, so the guest side's sockets are made on a short-lived thread that entered the
/// namespace with setns(2); everything else runs on ordinary threads. TCP is copied both ways with half-close;
/// UDP keeps one guest-side socket per client address until it has been idle for <see cref="UdpIdleTimeout"/>.
/// </summary>
internal sealed class PortForwarder : IAsyncDisposable
{
    private const int BufferSize = 64 * 1024;
    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(10);

    private readonly List<(PublishedPort Port, Socket Listener)> _listeners;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private readonly List<Task> _loops = [];
    private string? _namespace;
    private IPAddress _guest = IPAddress.Loopback;

    private PortForwarder(List<(PublishedPort, Socket)> listeners) => _listeners = listeners;

    /// <summary>How long a UDP client may stay silent both ways before its guest-side socket is closed.</summary>
    public TimeSpan UdpIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Binds every host port now, before anything long starts, so a port in use is one clear error; connections
    /// wait in the backlog until <see cref="Start"/>.
    /// </summary>
    public static PortForwarder Bind(IReadOnlyList<PublishedPort> ports)
    {
        var listeners = new List<(PublishedPort, Socket)>();
        try
        {
            foreach (var port in ports)
            {
                var socket = port.Protocol == ProtocolType.Udp
                    ? new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
                    : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listeners.Add((port, socket));
                try
                {
                    socket.Bind(new IPEndPoint(port.HostAddress, port.HostPort));
                    if (port.Protocol == ProtocolType.Tcp)
                    {
                        socket.Listen(128);
                    }
                }
                catch (SocketException e)
                {
                    string why = e.SocketErrorCode switch
                    {
                        SocketError.AddressAlreadyInUse => "the port is already in use",
                        SocketError.AddressNotAvailable => $"{port.HostAddress} is not an address of this host",
                        SocketError.AccessDenied => "permission denied",
                        _ => e.Message,
                    };
                    throw new CliException($"--publish {port}: cannot listen on {port.HostAddress}:{port.HostPort}/{port.ProtocolName}: {why}");
                }
            }
        }
        catch
        {
            foreach (var (_, socket) in listeners)
            {
                socket.Dispose();
            }
            throw;
        }
        return new PortForwarder(listeners);
    }

    /// <summary>
    /// Starts forwarding to <paramref name="guest"/> inside network namespace <paramref name="ns"/> (null: the tool's
    /// own). Checks first that the namespace can be entered.
    /// </summary>
    public void Start(string? ns, IPAddress guest)
    {
        _namespace = ns;
        _guest = guest;
        try
        {
            GuestSocket(SocketType.Dgram, ProtocolType.Udp).Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SocketException)
        {
            throw new CliException($"--publish: cannot open a socket in network namespace {ns}: {e.Message}");
        }
        foreach (var (port, listener) in _listeners)
        {
            _loops.Add(port.Protocol == ProtocolType.Udp ? Task.Run(() => UdpLoopAsync(port, listener)) : Task.Run(() => AcceptLoopAsync(port, listener)));
        }
    }

    /// <summary>One line per published port, e.g. <c>127.0.0.1:8080 -> 198.18.0.2:80/tcp</c>.</summary>
    public string Describe() => string.Join(", ", _listeners.Select(l => $"{l.Port.HostAddress}:{l.Port.HostPort} -> {_guest}:{l.Port.GuestPort}/{l.Port.ProtocolName}"));

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var (_, listener) in _listeners)
        {
            listener.Dispose();
        }
        foreach (var socket in _open.Keys)
        {
            socket.Dispose();
        }
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopping is what ended them.
        }
        _stop.Dispose();
    }

    /// <summary>A socket in the guest's namespace: made on a thread that entered it, since the namespace is a thread's.</summary>
    private Socket GuestSocket(SocketType type, ProtocolType protocol)
    {
        if (_namespace is null)
        {
            return new Socket(AddressFamily.InterNetwork, type, protocol);
        }
        Socket? socket = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                NamespaceEntry.EnterOnThisThread(_namespace);
                socket = new Socket(AddressFamily.InterNetwork, type, protocol);
            }
            catch (Exception e)
            {
                error = e;
            }
        })
        { IsBackground = true, Name = "publish setns" };
        thread.Start();
        thread.Join();
        return socket ?? throw error!;
    }

    private async Task AcceptLoopAsync(PublishedPort port, Socket listener)
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // A client gone before we took it (ECONNABORTED): keep accepting.
                continue;
            }
            _ = ForwardTcpAsync(port, client, token);
        }
    }

    private async Task ForwardTcpAsync(PublishedPort port, Socket client, CancellationToken token)
    {
        _open.TryAdd(client, 0);
        Socket? guest = null;
        try
        {
            guest = GuestSocket(SocketType.Stream, ProtocolType.Tcp);
            _open.TryAdd(guest, 0);
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                timeout.CancelAfter(s_connectTimeout);
                try
                {
                    await guest.ConnectAsync(new IPEndPoint(_guest, port.GuestPort), timeout.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException && !token.IsCancellationRequested)
                {
                    string why = e is SocketException s ? s.Message : $"no answer within {s_connectTimeout.TotalSeconds:0} s";
                    Progress.Info($"publish {port.HostPort}/tcp: cannot connect to {_guest}:{port.GuestPort}: {why}");
                    // The client sees a reset, as it would from a closed port.
                    client.LingerState = new LingerOption(true, 0);
                    return;
                }
            }
            // Each direction ends with a FIN on the other side; the connection ends when both have.
            var up = CopyAsync(client, guest, token);
            var down = CopyAsync(guest, client, token);
            await Task.WhenAll(up, down).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            if (!token.IsCancellationRequested)
            {
                Progress.Info($"publish {port.HostPort}/tcp: {e.Message}");
            }
        }
        finally
        {
            Close(client);
            if (guest is not null)
            {
                Close(guest);
            }
        }
    }

    /// <summary>
    /// Copies until the end of <paramref name="from"/>, then half-closes <paramref name="to"/>. After a reset or an
    /// error on either side both are aborted, as an end-to-end connection would be.
    /// </summary>
    private static async Task CopyAsync(Socket from, Socket to, CancellationToken token)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer, SocketFlags.None, token).ConfigureAwait(false)) > 0)
            {
                for (int sent = 0; sent < n;)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, token).ConfigureAwait(false);
                }
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            from.LingerState = new LingerOption(true, 0);
            to.LingerState = new LingerOption(true, 0);
            from.Dispose();
            to.Dispose();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task UdpLoopAsync(PublishedPort port, Socket host)
    {
        var token = _stop.Token;
        var clients = new ConcurrentDictionary<IPEndPoint, UdpClientSide>();
        var sweeper = SweepAsync(clients, token);
        byte[] buffer = new byte[BufferSize];
        try
        {
            while (!token.IsCancellationRequested)
            {
                var received = await host.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), token).ConfigureAwait(false);
                var from = (IPEndPoint)received.RemoteEndPoint;
                // Twice at most: the sweeper may close an idle client's socket between the lookup and the send, and
                // the datagram then goes out from a new one.
                for (int attempt = 0; attempt < 2; attempt++)
                {
                    if (!clients.TryGetValue(from, out var side))
                    {
                        Socket guest;
                        try
                        {
                            guest = GuestSocket(SocketType.Dgram, ProtocolType.Udp);
                            guest.Connect(new IPEndPoint(_guest, port.GuestPort));
                        }
                        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SocketException)
                        {
                            Progress.Info($"publish {port.HostPort}/udp: {e.Message}");
                            break;
                        }
                        _open.TryAdd(guest, 0);
                        side = new UdpClientSide(guest);
                        clients[from] = side;
                        _ = ReturnUdpAsync(host, from, side, token);
                    }
                    side.Touch();
                    try
                    {
                        await side.Guest.SendAsync(buffer.AsMemory(0, received.ReceivedBytes), SocketFlags.None, token).ConfigureAwait(false);
                        break;
                    }
                    catch (SocketException)
                    {
                        // The guest's port is closed (an ICMP error from an earlier datagram): UDP loses it, as it would end to end.
                        break;
                    }
                    catch (ObjectDisposedException) when (!token.IsCancellationRequested)
                    {
                        clients.TryRemove(new KeyValuePair<IPEndPoint, UdpClientSide>(from, side));
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Stopping.
        }
        finally
        {
            foreach (var side in clients.Values)
            {
                Close(side.Guest);
            }
            await sweeper.ConfigureAwait(false);
        }
    }

    /// <summary>The guest's answers to one client go back to it from the published port.</summary>
    private async Task ReturnUdpAsync(Socket host, IPEndPoint client, UdpClientSide side, CancellationToken token)
    {
        byte[] buffer = new byte[BufferSize];
        while (!token.IsCancellationRequested)
        {
            try
            {
                int n = await side.Guest.ReceiveAsync(buffer, SocketFlags.None, token).ConfigureAwait(false);
                side.Touch();
                await host.SendToAsync(buffer.AsMemory(0, n), SocketFlags.None, client, token).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                // An ICMP port unreachable from the guest: nothing to hand back over UDP.
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task SweepAsync(ConcurrentDictionary<IPEndPoint, UdpClientSide> clients, CancellationToken token)
    {
        var period = UdpIdleTimeout < TimeSpan.FromSeconds(2) ? UdpIdleTimeout : TimeSpan.FromSeconds(1);
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                foreach (var (client, side) in clients)
                {
                    if (side.IdleFor > UdpIdleTimeout && clients.TryRemove(client, out _))
                    {
                        Close(side.Guest);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void Close(Socket socket)
    {
        _open.TryRemove(socket, out _);
        socket.Dispose();
    }

    /// <summary>One UDP client's socket in the guest's namespace and when it last carried a datagram.</summary>
    private sealed class UdpClientSide(Socket guest)
    {
        private long _lastActive = Environment.TickCount64;

        public Socket Guest { get; } = guest;

        public TimeSpan IdleFor => TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _lastActive));

        public void Touch() => Volatile.Write(ref _lastActive, Environment.TickCount64);
    }
}
