namespace Unisharp.Net;

/// <summary>Why the direct stack dropped a frame or a datagram; each reason has a counter in <see cref="NetworkStatistics"/>.</summary>
public enum DropReason
{
    /// <summary>Shorter than an Ethernet header.</summary>
    MalformedEthernet,
    /// <summary>Addressed to another MAC, or to a multicast group we did not join.</summary>
    NotOurMac,
    /// <summary>Tagged for a VLAN (other than the priority tag, VLAN 0).</summary>
    WrongVlan,
    /// <summary>An EtherType other than IPv4, ARP and IPv6 (IPv6 too when it is off).</summary>
    UnknownEtherType,
    /// <summary>An ARP packet that is truncated or has a multicast sender.</summary>
    MalformedArp,
    /// <summary>An ARP packet for another hardware or protocol type.</summary>
    UnsupportedArp,
    /// <summary>An IPv4 header with a bad version, length or field.</summary>
    MalformedIpv4,
    /// <summary>An IPv4 header whose checksum does not match.</summary>
    Ipv4BadChecksum,
    /// <summary>A datagram for another IP address (we do not forward).</summary>
    NotOurAddress,
    /// <summary>A fragment that overlapped data already received: the whole datagram is dropped.</summary>
    FragmentOverlap,
    /// <summary>A fragment that repeated data already received.</summary>
    FragmentDuplicate,
    /// <summary>The reassembly of a datagram did not complete in time.</summary>
    ReassemblyTimeout,
    /// <summary>Too many datagrams were being reassembled at once (or too many holes in one).</summary>
    ReassemblyFull,
    /// <summary>An IP protocol nobody handles (TCP, until it is built, counts here).</summary>
    UnknownProtocol,
    /// <summary>An ICMP message shorter than its header.</summary>
    MalformedIcmp,
    /// <summary>An ICMP message whose checksum does not match.</summary>
    IcmpBadChecksum,
    /// <summary>A UDP header with an inconsistent length or a zero destination port.</summary>
    MalformedUdp,
    /// <summary>A UDP datagram whose checksum does not match.</summary>
    UdpBadChecksum,
    /// <summary>UDP to a port nobody has bound.</summary>
    NoSocket,
    /// <summary>The socket's receive or send queue was full.</summary>
    SocketBufferFull,
    /// <summary>A message to the DHCP client port that is not well-formed DHCP.</summary>
    MalformedDhcp,
    /// <summary>A datagram waiting for an ARP reply that never came.</summary>
    ArpUnresolved,
    /// <summary>Too many datagrams were already waiting for ARP replies.</summary>
    ArpQueueFull,
    /// <summary>No route: off-link with no gateway, or no address yet.</summary>
    NoRoute,
    /// <summary>Larger than the MTU with Don't Fragment set.</summary>
    FragmentationNeeded,
    /// <summary>The device's transmit queue was full.</summary>
    DeviceBusy,
    /// <summary>An ICMP error held back by the rate limit.</summary>
    IcmpRateLimited,
    /// <summary>A frame the stack failed on unexpectedly (a bug, logged); the stack carries on.</summary>
    InternalError,
    /// <summary>An IPv6 header with a bad version or length, or an extension header running past the packet.</summary>
    MalformedIpv6,
    /// <summary>An IPv6 extension header said to drop the packet (an unknown option, a routing header with segments left, no next header).</summary>
    Ipv6HeaderDiscarded,
    /// <summary>An ICMPv6 message shorter than its header.</summary>
    MalformedIcmpv6,
    /// <summary>An ICMPv6 message whose checksum (with the pseudo-header) does not match.</summary>
    Icmpv6BadChecksum,
    /// <summary>A neighbour discovery message that fails RFC 4861's validity checks.</summary>
    MalformedNdp,
    /// <summary>An IPv6 packet waiting for a neighbour advertisement that never came.</summary>
    NeighborUnresolved,
}
