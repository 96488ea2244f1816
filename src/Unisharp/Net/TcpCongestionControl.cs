namespace Unisharp.Net;

/// <summary>How a TCP sender's congestion window grows between losses.</summary>
public enum TcpCongestionControl
{
    /// <summary>RFC 5681 slow start and congestion avoidance (one segment per RTT), NewReno/SACK recovery.</summary>
    Reno,

    /// <summary>RFC 9438 CUBIC: window growth by a cubic function of the time since the last loss (Linux's default).</summary>
    Cubic,

    /// <summary>
    /// BBR (v1): a model of the path (bottleneck bandwidth, minimum RTT) paces the sender at the bandwidth it
    /// measured and bounds the flight to twice the bandwidth-delay product; random loss does not slow it down.
    /// The default: on the unix target over TAP it echoed 256 MiB at 1% loss 3-5x faster than CUBIC and at 10% loss
    /// with reordering and duplication 6-10x faster, with the same lossless throughput (bench/net/README.md).
    /// </summary>
    Bbr,
}
