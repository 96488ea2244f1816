namespace Unisharp.Net.Iface;

/// <summary>Sizes and limits of a <see cref="NetworkInterface"/>; the defaults suit a small server.</summary>
internal sealed record NetworkInterfaceOptions
{
    public int ArpCacheCapacity { get; init; } = 64;
    public int ArpPendingCapacity { get; init; } = 32;
    public int ArpPendingPerDestination { get; init; } = 4;
    public int ReassemblyCapacity { get; init; } = 16;
    /// <summary>The most bytes all datagrams in reassembly may hold together.</summary>
    public int ReassemblyMaxBytes { get; init; } = Ip.ReassemblyBuffer.DefaultMaxBytes;
    public Duration ReassemblyTimeout { get; init; } = Duration.FromSeconds(30);
    /// <summary>ICMP errors allowed at once, and how often one more is allowed.</summary>
    public int IcmpErrorBurst { get; init; } = 10;
    public Duration IcmpErrorInterval { get; init; } = Duration.FromMilliseconds(100);
    /// <summary>Frames taken from the device per poll before timers and transmissions get their turn.</summary>
    public int MaxFramesPerPoll { get; init; } = 256;
    /// <summary>IPv6 neighbour cache entries (bounded as the ARP cache).</summary>
    public int NeighborCacheCapacity { get; init; } = 64;
    /// <summary>IPv6 interface identifiers by RFC 7217 (stable-privacy, from a key drawn from our entropy) instead of the MAC's EUI-64.</summary>
    public bool Ipv6StablePrivacy { get; init; }
    public int UdpBufferBytes { get; init; } = Udp.UdpSocketCore.DefaultBufferBytes;
}
