namespace Unisharp.Devices;

/// <summary>What a network device can do, reported to the stack above it.</summary>
/// <param name="Mtu">The largest IP packet the link carries, without the Ethernet header (1500 on most links).</param>
/// <param name="MaxBurst">How many frames the device takes in one burst before the stack should yield.</param>
/// <param name="ChecksumOffload">
/// The device completes partial transport checksums on transmit and may hand over received frames whose checksum
/// is partial or already verified (<see cref="FrameOffload"/>).
/// </param>
/// <param name="SegmentationOffload">
/// The device accepts TCP/IPv4 segments larger than the MTU (up to <see cref="MaxOffloadPacketLength"/>) and cuts
/// them itself, and may deliver received segments that large. Implies <paramref name="ChecksumOffload"/>.
/// </param>
public readonly record struct NetworkDeviceCapabilities(int Mtu, int MaxBurst = 64, bool ChecksumOffload = false, bool SegmentationOffload = false)
{
    /// <summary>Ethernet II header (14) plus one 802.1Q tag (4).</summary>
    public const int EthernetOverhead = 18;

    /// <summary>The largest IP packet a segmentation-offload device takes or delivers: IPv4's limit.</summary>
    public const int MaxOffloadPacketLength = 65535;

    /// <summary>
    /// The longest frame the device sends or receives: the MTU (or, with segmentation offload,
    /// <see cref="MaxOffloadPacketLength"/>) plus the Ethernet header and a VLAN tag.
    /// </summary>
    public int MaxFrameLength => (SegmentationOffload ? Math.Max(Mtu, MaxOffloadPacketLength) : Mtu) + EthernetOverhead;
}
