namespace Unisharp.Net.Tcp;

/// <summary>A listening port: established connections wait in a bounded queue for the app to accept them.</summary>
internal sealed class TcpListenerCore(ushort port, int backlog)
{
    public ushort Port { get; } = port;

    public int Backlog { get; } = backlog;

    public Queue<TcpSocket> Accepted { get; } = new();

    /// <summary>Connections of this listener still in SYN-RECEIVED.</summary>
    public int HalfOpen { get; set; }

    public bool IsClosed { get; set; }

    /// <summary>Called (outside the lock) when a connection was queued or the listener closed.</summary>
    public Action? Changed { get; set; }

    internal bool NotifyQueued { get; set; }
}
