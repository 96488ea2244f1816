using Unisharp.Logging;
using Unisharp.Net;

namespace Unisharp.Hosting;

/// <summary>What an app needs from its target, gathered by <see cref="UnikernelBuilder"/>.</summary>
public sealed class DeviceRequest
{
    /// <summary>The app uses TCP/UDP through an <see cref="IStack"/>.</summary>
    public bool Stack { get; init; }

    /// <summary>The app handles raw Ethernet frames itself.</summary>
    public bool NetworkDevice { get; init; }

    /// <summary>The block devices the app opens, by name.</summary>
    public IReadOnlyList<string> Disks { get; init; } = [];

    /// <summary>The stack's IP configuration from the boot arguments.</summary>
    public required IpConfiguration Ip { get; init; }

    public required Logger Log { get; init; }

    /// <summary>The app's TCP settings, for a target whose stack is the host's; null for the defaults.</summary>
    public TcpOptions? Tcp { get; init; }
}

/// <summary>The IP configuration a stack starts with: IPv4 static, or DHCP when <see cref="Address"/> is null; IPv6 beside it.</summary>
/// <param name="DnsServer">The resolver's server from <c>--dns</c>; null to take it from DHCP's option 6.</param>
/// <param name="Ipv6Address">A static IPv6 address and prefix (<c>--ipv6</c>).</param>
/// <param name="Ipv6Gateway">The IPv6 default router (<c>--ipv6-gateway</c>), besides those router advertisements give.</param>
/// <param name="Ipv6Autoconfiguration">A link-local address and SLAAC from router advertisements; IPv6 is off without it and without <paramref name="Ipv6Address"/>.</param>
public readonly record struct IpConfiguration(Ipv4Cidr? Address, Ipv4Address? Gateway, bool Dhcp, Ipv4Address? DnsServer = null,
    Ipv6Cidr? Ipv6Address = null, Ipv6Address? Ipv6Gateway = null, bool Ipv6Autoconfiguration = false);
