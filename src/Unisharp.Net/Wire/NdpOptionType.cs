namespace Unisharp.Net.Wire;

/// <summary>Neighbor Discovery option types (RFC 4861 §4.6, RFC 7527 for the nonce).</summary>
internal enum NdpOptionType : byte
{
    SourceLinkLayerAddress = 1,
    TargetLinkLayerAddress = 2,
    PrefixInformation = 3,
    RedirectedHeader = 4,
    Mtu = 5,
    Nonce = 14,
}
