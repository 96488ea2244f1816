namespace Unisharp.Devices;

/// <summary>What a network device can do, reported to the stack above it.</summary>
/// <param name="Mtu">The largest IP packet the link carries, without the Ethernet header (1500 on most links).</param>
/// <param name="MaxBurst">How many frames the device takes in one burst before the stack should yield.</param>
/// <param name="ChecksumOffload">The device computes transport checksums on transmit and verifies them on receive.</param>
/// <param name="SegmentationOffload">The device accepts TCP segments larger than the MTU and segments them itself.</param>
public readonly record struct NetworkDeviceCapabilities(int Mtu, int MaxBurst = 64, bool ChecksumOffload = false, bool SegmentationOffload = false)
{
    /// <summary>Ethernet II header (14) plus one 802.1Q tag (4).</summary>
    public const int EthernetOverhead = 18;

    /// <summary>The longest frame the device sends or receives: the MTU plus the Ethernet header and a VLAN tag.</summary>
    public int MaxFrameLength => Mtu + EthernetOverhead;
}
