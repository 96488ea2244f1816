using Unisharp.Net.Tcp;

namespace Unisharp.Net;

/// <summary>TCP of the direct stack: listeners and connections over the interface's <see cref="TcpLayer"/>.</summary>
internal sealed class DirectTcp(DirectStack stack, TcpLayer layer) : ITcp
{
    private readonly Action _wake = stack.Wake;

    internal TcpLayer Layer => layer;

    public ITcpListener Listen(ushort port, int backlog = 128)
    {
        stack.ThrowIfDisposed();
        TcpListenerCore core;
        lock (layer.Lock)
        {
            core = layer.Listen(port, backlog);
        }
        return new DirectTcpListener(layer, core, new Ipv4Endpoint(stack.Address, port), _wake, stack.Clock);
    }

    public ValueTask<ITcpConnection> ConnectAsync(Ipv4Endpoint remote, CancellationToken cancellationToken = default) =>
        ConnectAsync(remote, 0, cancellationToken);

    /// <summary>Connects from a chosen local port (0 for an ephemeral one), as a simultaneous open needs.</summary>
    internal async ValueTask<ITcpConnection> ConnectAsync(Ipv4Endpoint remote, ushort localPort, CancellationToken cancellationToken)
    {
        stack.ThrowIfDisposed();
        DirectTcpConnection connection;
        lock (layer.Lock)
        {
            connection = new DirectTcpConnection(layer, layer.Connect(remote, localPort), _wake, stack.Clock);
        }
        _wake();
        try
        {
            await connection.WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            connection.Abort();
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return connection;
    }
}
