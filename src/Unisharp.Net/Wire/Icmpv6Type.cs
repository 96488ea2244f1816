namespace Unisharp.Net.Wire;

/// <summary>ICMPv6 message types (RFC 4443 §2.1, RFC 4861 §4, RFC 3810 §5).</summary>
internal enum Icmpv6Type : byte
{
    DestinationUnreachable = 1,
    PacketTooBig = 2,
    TimeExceeded = 3,
    ParameterProblem = 4,
    EchoRequest = 128,
    EchoReply = 129,
    MulticastListenerQuery = 130,
    RouterSolicitation = 133,
    RouterAdvertisement = 134,
    NeighborSolicitation = 135,
    NeighborAdvertisement = 136,
    Redirect = 137,
    Mldv2Report = 143,
}
