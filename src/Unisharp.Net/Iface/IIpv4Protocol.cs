using Unisharp.Net.Wire;

namespace Unisharp.Net.Iface;

/// <summary>
/// A transport protocol plugged into the interface above IPv4 (TCP will be one): it is handed every
/// datagram for its protocol number and is polled with the interface.
/// </summary>
internal interface IIpv4Protocol
{
    IpProtocol Protocol { get; }

    /// <summary>A datagram (reassembled, if it was fragmented) addressed to us.</summary>
    /// <param name="checksumTrusted">The device verified the transport checksum, or it is partial (the host's own, never on a wire).</param>
    void Process(in Ipv4Repr ip, Span<byte> payload, bool checksumTrusted, Instant now);

    /// <summary>Runs timers and sends what is due, through <see cref="NetworkInterface.SendIp"/>.</summary>
    void Poll(Instant now);

    Instant PollAt(Instant now);
}
