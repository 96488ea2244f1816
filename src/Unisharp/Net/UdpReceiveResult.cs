namespace Unisharp.Net;

/// <summary>One received datagram: how many bytes were copied and who sent them.</summary>
public readonly record struct UdpReceiveResult(int Length, Ipv4Endpoint Remote);
