namespace Unisharp.Devices;

/// <summary>Why a block request failed.</summary>
public enum BlockError
{
    /// <summary>The length is not a whole number of sectors (or is zero).</summary>
    UnalignedLength,
    /// <summary>The request is longer than the device's largest request.</summary>
    RequestTooLarge,
    /// <summary>The request reaches outside the device.</summary>
    OutOfRange,
    /// <summary>A write to a read-only device.</summary>
    ReadOnly,
    /// <summary>The device reported an input/output error.</summary>
    IoError,
    /// <summary>The device has been closed.</summary>
    Disconnected,
}
