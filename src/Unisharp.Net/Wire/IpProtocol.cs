namespace Unisharp.Net.Wire;

/// <summary>The protocol number in the IPv4 header (IANA "Assigned Internet Protocol Numbers").</summary>
internal enum IpProtocol : byte
{
    Icmp = 1,
    Tcp = 6,
    Udp = 17,
}
