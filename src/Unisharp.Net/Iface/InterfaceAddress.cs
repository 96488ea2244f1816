namespace Unisharp.Net.Iface;

/// <summary>The interface's IPv4 configuration, replaced as a whole so other threads read it without a lock.</summary>
internal sealed record InterfaceAddress(Ipv4Cidr Cidr, Ipv4Address? Gateway)
{
    public Ipv4Address Address => Cidr.Address;

    /// <summary>True for the limited broadcast and this subnet's directed broadcast (RFC 1122 §3.3.6).</summary>
    public bool IsBroadcast(Ipv4Address destination) =>
        destination.IsBroadcast || (Cidr.PrefixLength < 31 && destination == Cidr.BroadcastAddress);
}
