namespace Unisharp.Net.Wire;

/// <summary>The EtherType of an Ethernet II frame (IEEE 802.3 §3.2.6; values at 0x0600 and above).</summary>
internal enum EtherType : ushort
{
    Ipv4 = 0x0800,
    Arp = 0x0806,
    Vlan = 0x8100,
    Ipv6 = 0x86DD,
}
