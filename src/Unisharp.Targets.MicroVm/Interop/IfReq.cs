using System.Runtime.InteropServices;
using System.Text;

namespace Unisharp.Targets.MicroVm.Interop;

/// <summary>
/// <c>struct ifreq</c> of &lt;linux/if.h&gt; (40 bytes on 64-bit Linux): the interface name, then a union of
/// which we read the flags, the index or MTU, and the hardware address (a sockaddr: family, then bytes), or
/// a pointer to an ethtool command.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal unsafe struct IfReq
{
    public const int NameLength = 16;

    // <linux/sockios.h>
    public const nuint SIOCGIFFLAGS = 0x8913;
    public const nuint SIOCSIFFLAGS = 0x8914;
    public const nuint SIOCGIFMTU = 0x8921;
    public const nuint SIOCGIFHWADDR = 0x8927;
    public const nuint SIOCGIFINDEX = 0x8933;
    public const nuint SIOCETHTOOL = 0x8946;

    public const short IFF_UP = 0x1;

    [FieldOffset(0)] public fixed byte Name[NameLength];
    [FieldOffset(16)] public short Flags;
    [FieldOffset(16)] public int IntValue;
    [FieldOffset(16)] public ushort HwAddrFamily;
    [FieldOffset(18)] public fixed byte HwAddrData[14];
    /// <summary><c>ifr_data</c>: the argument of SIOCETHTOOL.</summary>
    [FieldOffset(16)] public void* Data;

    public static IfReq Named(string name)
    {
        if (name.Length is 0 or >= NameLength || !Ascii.IsValid(name) || name.AsSpan().ContainsAny('/', ' '))
        {
            throw new ArgumentException($"'{name}' is not an interface name (1 to 15 ASCII characters without '/' or spaces)");
        }
        IfReq request = default;
        Encoding.ASCII.GetBytes(name, new Span<byte>(request.Name, NameLength));
        return request;
    }
}
