namespace Unisharp.Net.Tcp;

/// <summary>Where a socket writes its segments: the interface's transmit buffer and its IP send.</summary>
internal interface ITcpSegmentSink
{
    /// <summary>Scratch space for one segment (header and payload).</summary>
    Span<byte> SegmentBuffer { get; }

    /// <summary>The device completes checksums: segments carry only the pseudo-header sum.</summary>
    bool PartialChecksum { get; }

    /// <summary>
    /// Sends the first <paramref name="length"/> bytes of <see cref="SegmentBuffer"/> to <paramref name="destination"/>;
    /// a <paramref name="segmentSize"/> above 0 asks the device to cut the segment into segments carrying that much data.
    /// </summary>
    void Send(Ipv4Address destination, int length, int segmentSize, Instant now);
}
