namespace Unisharp.Devices.Middleware;

/// <summary>What a <see cref="FaultInjectorBlockDevice"/> did to one request.</summary>
public enum BlockFaultKind
{
    /// <summary>A read failed; nothing was transferred.</summary>
    ReadError,
    /// <summary>A write failed; nothing was written.</summary>
    WriteError,
    /// <summary>A write stopped part way: the fault's sectors are the ones not written.</summary>
    ShortWrite,
    /// <summary>A request reached past the end of the shrunk disk; nothing was transferred.</summary>
    Shrunk,
}
