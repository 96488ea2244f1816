namespace Unisharp.Net.Wire;

/// <summary>RCODE of a DNS response (RFC 1035 §4.1.1).</summary>
internal enum DnsResponseCode : byte
{
    NoError = 0,
    FormatError = 1,
    ServerFailure = 2,
    /// <summary>NXDOMAIN: the name does not exist (RFC 8020: nor does anything under it).</summary>
    NameError = 3,
    NotImplemented = 4,
    Refused = 5,
}
