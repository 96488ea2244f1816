namespace Unisharp.Net.Wire;

/// <summary>Why a header was rejected by a parse; counted by the stack, never thrown.</summary>
internal enum WireError
{
    None,
    /// <summary>The buffer is shorter than the header or than the length the header declares.</summary>
    Truncated,
    /// <summary>A length field is inconsistent (IPv4 header length, UDP length, option length).</summary>
    BadLength,
    /// <summary>An IP version other than 4.</summary>
    BadVersion,
    BadChecksum,
    /// <summary>A well-formed header of a kind this stack does not handle (ARP for another protocol, a DHCP reply without cookie).</summary>
    Unsupported,
    /// <summary>A field holds a value the protocol forbids (a zero source port is allowed; a multicast source address is not).</summary>
    BadField,
}
