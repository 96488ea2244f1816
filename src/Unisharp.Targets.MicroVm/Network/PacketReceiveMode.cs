namespace Unisharp.Targets.MicroVm.Network;

/// <summary>How <see cref="PacketSocketDevice"/> takes frames from the kernel (<c>unisharp.rxring=</c>).</summary>
public enum PacketReceiveMode
{
    /// <summary>One recv system call per frame (<c>off</c>).</summary>
    Recv,

    /// <summary>A TPACKET_V2 ring: a slot per frame, the reader woken per frame (<c>v2</c>).</summary>
    RingV2,

    /// <summary>A TPACKET_V3 ring: blocks of frames, handed over when full or after the kernel's tick (<c>v3</c>).</summary>
    RingV3,
}
