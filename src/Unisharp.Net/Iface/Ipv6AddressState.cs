namespace Unisharp.Net.Iface;

/// <summary>The life of an interface's IPv6 address (RFC 4862 §2).</summary>
internal enum Ipv6AddressState : byte
{
    Free,
    /// <summary>Duplicate address detection runs: not used, packets to it are not ours.</summary>
    Tentative,
    /// <summary>In use, and chosen as a source.</summary>
    Preferred,
    /// <summary>Its preferred lifetime ran out: still received on, chosen as a source only when nothing else fits.</summary>
    Deprecated,
    /// <summary>Duplicate address detection found another node with it (RFC 4862 §5.4.5): never used, remembered so it is not tried again.</summary>
    Duplicate,
}
