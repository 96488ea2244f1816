namespace Unisharp.Devices;

/// <summary>What a frame's transport checksum holds (virtio_net_hdr's NEEDS_CSUM and DATA_VALID).</summary>
public enum FrameChecksum : byte
{
    /// <summary>Complete, as on the wire; a receiver verifies it.</summary>
    None,

    /// <summary>
    /// Only the pseudo-header sum is in the checksum field; whoever puts the frame on a wire completes it.
    /// A received frame in this state came from the host itself and was never on a wire.
    /// </summary>
    Partial,

    /// <summary>The device has verified it (received frames only).</summary>
    Valid,
}
