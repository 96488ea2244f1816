namespace Unisharp.Net;

/// <summary>TCP segments a stack has received and sent (a large offloaded segment counts once).</summary>
public readonly record struct TcpSegmentCounts(long Received, long Sent);
