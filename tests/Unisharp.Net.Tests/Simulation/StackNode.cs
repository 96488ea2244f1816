using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Simulation;

/// <summary>A manual <see cref="DirectStack"/> as a node of the simulated network.</summary>
internal sealed class StackNode(DirectStack stack) : ISimulatedNode
{
    public DirectStack Stack => stack;

    public void Poll(Instant now) => stack.Poll(now);

    public Instant PollAt(Instant now) => stack.PollAt(now);

    /// <summary>Adds a device and a stack on it; <paramref name="cidr"/> null means DHCP.</summary>
    public static DirectStack Add(SimulatedNetwork network, string name, MacAddress mac, string? cidr,
        LinkConditions link = default, string? gateway = null, int mtu = 1500, string? ipv6 = null, bool ipv6Autoconf = false)
    {
        var device = network.AddDevice(name, mac, link, mtu);
        var ip = new IpConfiguration(cidr is null ? null : Ipv4Cidr.Parse(cidr), gateway is null ? null : Ipv4Address.Parse(gateway), cidr is null,
            Ipv6Address: ipv6 is null ? null : Ipv6Cidr.Parse(ipv6), Ipv6Autoconfiguration: ipv6Autoconf);
        var stack = DirectStack.CreateManual(new StackOptions
        {
            Device = device,
            Clock = network.Clock,
            Entropy = network.CreateEntropy(),
            Ip = ip,
            Log = new Logger(LogLevel.Quiet),
        });
        network.AddNode(new StackNode(stack));
        return stack;
    }
}
