using System.Runtime.InteropServices;
using System.Text;

namespace Unisharp.Targets.Unix.Interop;

/// <summary>
/// Linux's <c>struct ifreq</c> (40 bytes on x86_64 and arm64): an interface name and a union, of which we use
/// the flags (a short) and the MTU (an int).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal unsafe struct InterfaceRequest
{
    public const int NameSize = 16;

    public const nuint TUNSETIFF = 0x400454CA;
    public const nuint SIOCGIFFLAGS = 0x8913;
    public const nuint SIOCSIFFLAGS = 0x8914;
    public const nuint SIOCGIFMTU = 0x8921;
    public const nuint SIOCGIFINDEX = 0x8933;

    public const short IFF_UP = 0x1;
    public const short IFF_TAP = 0x0002;
    public const short IFF_NO_PI = 0x1000;

    [FieldOffset(0)] public fixed byte Name[NameSize];
    [FieldOffset(16)] public short Flags;
    [FieldOffset(16)] public int Value;

    /// <summary>A request for <paramref name="name"/>, which must fit the kernel's 15 characters.</summary>
    public static InterfaceRequest For(string name)
    {
        if (name.Length is 0 or >= NameSize || Encoding.ASCII.GetByteCount(name) != name.Length || name.Contains('/') || name.Contains(' '))
        {
            throw new ArgumentException($"'{name}' is not a Linux interface name (1 to 15 ASCII characters, no '/' or spaces)");
        }
        var request = default(InterfaceRequest);
        Encoding.ASCII.GetBytes(name, new Span<byte>(request.Name, NameSize));
        return request;
    }
}
