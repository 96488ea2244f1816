namespace Unisharp.Net.Wire;

/// <summary>One entry of a DNS message's question section (RFC 1035 §4.1.2).</summary>
internal readonly record struct DnsQuestion(string Name, DnsRecordType Type, ushort Class = DnsRecord.ClassInternet);
