namespace Unisharp.Net.Wire;

/// <summary>DNS resource record types and query types this stack names (RFC 1035 §3.2.2, RFC 3596, RFC 6891).</summary>
internal enum DnsRecordType : ushort
{
    A = 1,
    NS = 2,
    CName = 5,
    Soa = 6,
    Ptr = 12,
    MX = 15,
    Txt = 16,
    Aaaa = 28,
    Opt = 41,
}
