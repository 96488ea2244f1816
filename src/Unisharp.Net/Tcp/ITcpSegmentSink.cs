namespace Unisharp.Net.Tcp;

/// <summary>Where a socket writes its segments: the interface's transmit buffer and its IP send.</summary>
internal interface ITcpSegmentSink
{
    /// <summary>Scratch space for one segment (header and payload).</summary>
    Span<byte> SegmentBuffer { get; }

    /// <summary>Sends the first <paramref name="length"/> bytes of <see cref="SegmentBuffer"/> to <paramref name="destination"/>.</summary>
    void Send(Ipv4Address destination, int length, Instant now);
}
