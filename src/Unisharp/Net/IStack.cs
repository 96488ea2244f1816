namespace Unisharp.Net;

/// <summary>
/// A TCP/IP stack as an app sees it: on <c>unix</c> either ours over a TAP device or the host's sockets,
/// on a microVM ours over virtio-net. The app never knows which.
/// </summary>
public interface IStack : IAsyncDisposable
{
    ITcp Tcp { get; }

    IUdp Udp { get; }

    /// <summary>The stack's own IPv4 address, or <see cref="Ipv4Address.Any"/> when it listens on all of the host's.</summary>
    Ipv4Address Address { get; }

    /// <summary>Name resolution over this stack (DNS to the server of <c>--dns</c> or DHCP, or the host's resolver); null when it has none.</summary>
    IDnsResolver? Dns => null;

    /// <summary>
    /// True when this is the host kernel's TCP/IP (<c>--net socket</c>) rather than ours, so a framework with its own
    /// socket transport (Kestrel's) may use it directly.
    /// </summary>
    bool UsesHostSockets => false;

    /// <summary>TCP segments received and sent so far, for diagnostics and benchmarks; null when the stack cannot tell.</summary>
    TcpSegmentCounts? TcpSegments => null;
}
