namespace Unisharp.Net.Wire;

/// <summary>The data of an SOA record (RFC 1035 §3.3.13); <see cref="Minimum"/> bounds how long a negative answer is kept (RFC 2308 §5).</summary>
internal readonly record struct DnsSoa(string PrimaryServer, string Mailbox, uint Serial, uint Refresh, uint Retry, uint Expire, uint Minimum);
