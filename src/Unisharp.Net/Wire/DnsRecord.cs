namespace Unisharp.Net.Wire;

/// <summary>
/// A resource record (RFC 1035 §4.1.3) with its data read by type: <see cref="Address"/> for A, <see cref="Target"/>
/// for CNAME, NS and PTR, <see cref="Soa"/> for SOA; other types keep their bytes in <see cref="Data"/>
/// (names inside them may be compressed, so they are only meaningful for types without names).
/// </summary>
internal readonly record struct DnsRecord(
    string Name,
    DnsRecordType Type,
    uint Ttl,
    Ipv4Address Address = default,
    string? Target = null,
    DnsSoa? Soa = null,
    byte[]? Data = null,
    ushort Class = DnsRecord.ClassInternet)
{
    /// <summary>IN, the Internet class (RFC 1035 §3.2.4).</summary>
    public const ushort ClassInternet = 1;

    public static DnsRecord ARecord(string name, Ipv4Address address, uint ttl) => new(name, DnsRecordType.A, ttl, Address: address);

    public static DnsRecord CNameRecord(string name, string target, uint ttl) => new(name, DnsRecordType.CName, ttl, Target: target);

    public static DnsRecord SoaRecord(string name, DnsSoa soa, uint ttl) => new(name, DnsRecordType.Soa, ttl, Soa: soa);
}
