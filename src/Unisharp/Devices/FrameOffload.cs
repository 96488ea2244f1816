namespace Unisharp.Devices;

/// <summary>
/// The offload metadata of one frame, for devices that checksum and segment TCP themselves (a TAP device
/// with <c>virtio_net_hdr</c>, a virtio NIC). Default means none: a plain frame, checksums complete and to be verified.
/// </summary>
/// <remarks>
/// On receive it tells the stack what it need not check; on transmit it asks the device to finish the
/// transport checksum and to cut a large TCP segment into <see cref="SegmentSize"/>-byte segments. Offsets
/// count from the start of the Ethernet frame.
/// </remarks>
public readonly record struct FrameOffload
{
    /// <summary>The state of the transport checksum.</summary>
    public FrameChecksum Checksum { get; init; }

    /// <summary>With <see cref="FrameChecksum.Partial"/>: where checksumming starts (the transport header).</summary>
    public ushort ChecksumStart { get; init; }

    /// <summary>With <see cref="FrameChecksum.Partial"/>: the checksum field's offset from <see cref="ChecksumStart"/>.</summary>
    public ushort ChecksumOffset { get; init; }

    /// <summary>For a large TCP segment: the payload bytes of each segment on the wire (the MSS); 0 for a plain frame.</summary>
    public ushort SegmentSize { get; init; }

    /// <summary>True for a plain frame: no metadata.</summary>
    public bool IsNone => Checksum == FrameChecksum.None && SegmentSize == 0;

    /// <summary>True when the stack need not verify the transport checksum (received frames).</summary>
    public bool ChecksumTrusted => Checksum != FrameChecksum.None;
}
