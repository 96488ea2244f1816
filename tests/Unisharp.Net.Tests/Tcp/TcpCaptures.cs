namespace Unisharp.Net.Tests.Tcp;

/// <summary>
/// TCP segments captured between two Linux namespaces (198.18.0.1:5000 -> 198.18.0.2:7000, transmit checksum
/// offload off) by capture-tcp.sh: the handshake, "hello", both FINs, and a reset from a closed port. Ethernet frames.
/// </summary>
internal static class TcpCaptures
{
    /// <summary>SYN, seq 982004085, win 64240, options mss 1460, sackOK, TS val 2221811664 ecr 0, nop, wscale 10.</summary>
    public static byte[] Syn => Convert.FromHexString("02000000000b02000000000a08004500003cf64640004006b84dc6120001c612000213881b583a88317500000000a002faf079c80000020405b40402080a846e27d0000000000103030a");

    /// <summary>SYN-ACK, seq 2671423726, ack 982004086, win 65160, mss 1460, sackOK, TS val 3420253411 ecr 2221811664, nop, wscale 10.</summary>
    public static byte[] SynAck => Convert.FromHexString("02000000000a02000000000b08004500003c000040004006ae94c6120002c61200011b5813889f3ab0ee3a883176a012fe886d350000020405b40402080acbdcece3846e27d00103030a");

    /// <summary>ACK of the SYN-ACK: win 63 (scaled), nop, nop, TS val 2221811664 ecr 3420253411.</summary>
    public static byte[] Ack => Convert.FromHexString("02000000000b02000000000a080045000034f64740004006b854c6120001c612000213881b583a8831769f3ab0ef8010003f9a4e00000101080a846e27d0cbdcece3");

    /// <summary>PSH-ACK carrying "hello", TS val 2221811669 ecr 3420253411.</summary>
    public static byte[] Hello => Convert.FromHexString("02000000000b02000000000a080045000039f64840004006b84ec6120001c612000213881b583a8831769f3ab0ef8018003f566a00000101080a846e27d5cbdcece368656c6c6f");

    /// <summary>FIN-ACK from 198.18.0.2, seq 2671423727, ack 982004092, win 64, TS val 3420253417 ecr 2221811670.</summary>
    public static byte[] FinAck => Convert.FromHexString("02000000000a02000000000b08004500003472a5400040063bf7c6120002c61200011b5813889f3ab0ef3a88317c801100409a3a00000101080acbdcece9846e27d6");

    /// <summary>RST-ACK from the closed port 7001: seq 0, ack 1478775445, win 0.</summary>
    public static byte[] Reset => Convert.FromHexString("02000000000a02000000000b080045000028000040004006aea8c6120002c61200011b5913890000000058245295501400004a0d0000");

    /// <summary>The SYN that <see cref="Reset"/> answers (198.18.0.1:5001 -> 198.18.0.2:7001, seq 1478775444).</summary>
    public static byte[] SynToClosedPort => Convert.FromHexString("02000000000b02000000000a08004500003c380640004006768ec6120001c612000213891b595824529400000000a002faf0efda0000020405b40402080aced52899000000000103030a");

    /// <summary>The TCP segment inside an Ethernet + IPv4 (no options) frame.</summary>
    public static byte[] Segment(byte[] frame) => frame.AsSpan(34).ToArray();
}
