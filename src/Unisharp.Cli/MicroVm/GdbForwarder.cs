using System.Net;
using System.Net.Sockets;

namespace Unisharp.Cli.MicroVm;

/// <summary>
/// Carries gdb's connections from 127.0.0.1:PORT on this host to QEMU's gdbstub on a Unix socket, for a VM whose QEMU runs
/// in the TAP's network namespace (where its own loopback is out of gdb's reach). Files are shared across namespaces.
/// </summary>
internal sealed class GdbForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private GdbForwarder(int port, string socketPath)
    {
        SocketPath = socketPath;
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The Unix socket QEMU's gdbstub listens on.</summary>
    public string SocketPath { get; }

    /// <summary>Listens on 127.0.0.1:<paramref name="port"/> for the gdbstub QEMU will open at a socket of its own, named after our PID.</summary>
    /// <exception cref="CliException">The port is in use.</exception>
    public static GdbForwarder Start(int port)
    {
        string path = Path.Combine(Path.GetTempPath(), $"unisharp-gdb-{Environment.ProcessId}.sock");
        File.Delete(path);
        try
        {
            return new GdbForwarder(port, path);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied)
        {
            throw GdbSession.PortInUse(port);
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        using (client)
        using (var stub = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                await stub.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), _stop.Token).ConfigureAwait(false);
                using var gdb = new NetworkStream(client);
                using var qemu = new NetworkStream(stub);
                // Either side closing ends the session: gdb detaching, or QEMU ending.
                await Task.WhenAny(gdb.CopyToAsync(qemu, _stop.Token), qemu.CopyToAsync(gdb, _stop.Token)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
            {
                Progress.Info($"gdb's connection to the VM ended: {e.Message}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
        File.Delete(SocketPath);
    }
}
