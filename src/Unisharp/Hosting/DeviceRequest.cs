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

/// <summary>The IPv4 configuration a stack starts with: static, or DHCP when <see cref="Address"/> is null.</summary>
/// <param name="DnsServer">The resolver's server from <c>--dns</c>; null to take it from DHCP's option 6.</param>
public readonly record struct IpConfiguration(Ipv4Cidr? Address, Ipv4Address? Gateway, bool Dhcp, Ipv4Address? DnsServer = null);
