namespace Unisharp.Net.Wire;

/// <summary>
/// The protocol number in the IPv4 header and IPv6's Next Header field (IANA "Assigned Internet Protocol Numbers"),
/// IPv6 extension headers included.
/// </summary>
internal enum IpProtocol : byte
{
    /// <summary>IPv6 hop-by-hop options (RFC 8200 §4.3); only ever right after the IPv6 header.</summary>
    Ipv6HopByHop = 0,
    Icmp = 1,
    Tcp = 6,
    Udp = 17,
    /// <summary>IPv6 routing header (RFC 8200 §4.4).</summary>
    Ipv6Routing = 43,
    /// <summary>IPv6 fragment header (RFC 8200 §4.5).</summary>
    Ipv6Fragment = 44,
    Icmpv6 = 58,
    /// <summary>Nothing follows (RFC 8200 §4.7).</summary>
    Ipv6NoNextHeader = 59,
    /// <summary>IPv6 destination options (RFC 8200 §4.6).</summary>
    Ipv6DestinationOptions = 60,
}
