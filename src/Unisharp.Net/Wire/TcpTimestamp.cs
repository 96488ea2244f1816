namespace Unisharp.Net.Wire;

/// <summary>The timestamps option (RFC 7323 §3): the sender's clock and the echo of the peer's.</summary>
internal readonly record struct TcpTimestamp(uint Value, uint Echo);
