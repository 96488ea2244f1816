namespace Unisharp.Net.Tests;

/// <summary>
/// IPv6 frames captured with tcpdump on a veth pair between two network namespaces: A at 02:00:00:00:00:0a
/// (fe80::ff:fe00:a, fd00:198:18::1/64, radvd advertising fd00:198:18::/64) and B at 02:00:00:00:00:0b
/// (fe80::ff:fe00:b, SLAAC fd00:198:18::ff:fe00:b), Linux 6, transmit checksum offload off.
/// CaptureScripts/capture-ipv6.sh records them again.
/// </summary>
internal static class Ipv6Captures
{
    /// <summary>B's MLDv2 report (from ::, before DAD) joining ff02::1:ff00:b, behind a hop-by-hop router alert.</summary>
    public static byte[] MldReport => Convert.FromHexString(
        "33330000001602000000000b86dd600000000024000100000000000000000000000000000000ff0200000000000000000000000000163a000502000001008f006f7f0000000104000000ff0200000000000000000001ff00000b");

    /// <summary>B's DAD probe for fe80::ff:fe00:b (from ::, to its solicited-node group, with a nonce option).</summary>
    public static byte[] DadProbe => Convert.FromHexString(
        "3333ff00000b02000000000b86dd6000000000203aff00000000000000000000000000000000ff0200000000000000000001ff00000b8700db3800000000fe80000000000000000000fffe00000b0e0172c6882c98dc");

    /// <summary>B's router solicitation with its source link-layer address.</summary>
    public static byte[] RouterSolicitation => Convert.FromHexString(
        "33330000000202000000000b86dd6000000000103afffe80000000000000000000fffe00000bff02000000000000000000000000000285007b1800000000010102000000000b");

    /// <summary>radvd's answer: hop limit 64, router lifetime 12 s, prefix fd00:198:18::/64 (L, A, 86400/14400 s), MTU 1500, source link-layer.</summary>
    public static byte[] RouterAdvertisement => Convert.FromHexString(
        "02000000000b02000000000a86dd60065f8a00403afffe80000000000000000000fffe00000afe80000000000000000000fffe00000b860064434000000c0000000000000000030440c0000151800000384000000000fd00019800180000000000000000000005010000000005dc010102000000000a");

    /// <summary>A's neighbor solicitation for fd00:198:18::ff:fe00:b from fd00:198:18::1.</summary>
    public static byte[] NeighborSolicitation => Convert.FromHexString(
        "3333ff00000b02000000000a86dd6000000000203afffd000198001800000000000000000001ff0200000000000000000001ff00000b87007b1c00000000fd00019800180000000000fffe00000b010102000000000a");

    /// <summary>B's answer: solicited, override, target link-layer 02:00:00:00:00:0b.</summary>
    public static byte[] NeighborAdvertisement => Convert.FromHexString(
        "02000000000a02000000000b86dd6000000000203afffd00019800180000000000fffe00000bfd0001980018000000000000000000018800196f60000000fd00019800180000000000fffe00000b020102000000000b");

    /// <summary>ping -6 -p 61626364 -s 8 fe80::ff:fe00:b: id 2332, seq 1.</summary>
    public static byte[] EchoRequestLinkLocal => Convert.FromHexString(
        "02000000000b02000000000a86dd6000ccea00103a40fe80000000000000000000fffe00000afe80000000000000000000fffe00000b8000b6ba091c00016162636400000000");

    /// <summary>B's echo reply to EchoRequestLinkLocal.</summary>
    public static byte[] EchoReplyLinkLocal => Convert.FromHexString(
        "02000000000a02000000000b86dd600a864900103a40fe80000000000000000000fffe00000bfe80000000000000000000fffe00000a8100b5ba091c00016162636400000000");

    /// <summary>UDP from fd00:198:18::1 port 46035 to the closed port 7001 on B: "closed?".</summary>
    public static byte[] UdpToClosedPort => Convert.FromHexString(
        "02000000000b02000000000a86dd600e13a2000f1140fd000198001800000000000000000001fd00019800180000000000fffe00000bb3d31b59000fbcf1636c6f7365643f");

    /// <summary>B's destination unreachable (port) quoting UdpToClosedPort whole.</summary>
    public static byte[] PortUnreachable => Convert.FromHexString(
        "02000000000a02000000000b86dd6004b4f0003f3a40fd00019800180000000000fffe00000bfd00019800180000000000000000000101047d3500000000600e13a2000f1140fd000198001800000000000000000001fd00019800180000000000fffe00000bb3d31b59000fbcf1636c6f7365643f");
}
