using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Unisharp.Net;

/// <summary>An IPv6 address (RFC 4291) held as two 64-bit numbers in host order: the first eight bytes, then the last.</summary>
public readonly record struct Ipv6Address(ulong High, ulong Low) : ISpanFormattable, ISpanParsable<Ipv6Address>, IComparable<Ipv6Address>
{
    public const int Length = 16;

    /// <summary>The unspecified address, <c>::</c>.</summary>
    public static readonly Ipv6Address Any = new(0, 0);
    public static readonly Ipv6Address Loopback = new(0, 1);
    /// <summary><c>ff02::1</c>, every node on the link (RFC 4291 §2.7.1).</summary>
    public static readonly Ipv6Address AllNodes = new(0xFF02_0000_0000_0000UL, 1);
    /// <summary><c>ff02::2</c>, every router on the link.</summary>
    public static readonly Ipv6Address AllRouters = new(0xFF02_0000_0000_0000UL, 2);
    /// <summary><c>ff02::16</c>, where MLDv2 reports go (RFC 3810 §5.2.14).</summary>
    public static readonly Ipv6Address AllMldv2Routers = new(0xFF02_0000_0000_0000UL, 0x16);

    /// <summary>Reads an address stored in network order.</summary>
    public static Ipv6Address Read(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));

    /// <summary>Writes the address in network order.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Low);
    }

    public bool IsUnspecified => High == 0 && Low == 0;
    public bool IsLoopback => High == 0 && Low == 1;
    public bool IsMulticast => High >> 56 == 0xFF;
    /// <summary>fe80::/10 (RFC 4291 §2.5.6).</summary>
    public bool IsLinkLocal => High >> 54 == 0xFE80 >> 6;
    /// <summary>A multicast address of link-local scope (ff02::/16 and its flag variants).</summary>
    public bool IsLinkLocalMulticast => IsMulticast && ((High >> 48) & 0xF) == 2;
    /// <summary>An IPv4-mapped address, ::ffff:A.B.C.D (RFC 4291 §2.5.5.2).</summary>
    public bool IsIpv4Mapped => High == 0 && Low >> 32 == 0xFFFF;

    /// <summary>The solicited-node multicast group of this address, ff02::1:ffXX:XXXX (RFC 4291 §2.7.1).</summary>
    public Ipv6Address SolicitedNode => new(0xFF02_0000_0000_0000UL, 0x0000_0001_FF00_0000UL | (Low & 0xFF_FFFF));

    /// <summary>The Ethernet group a multicast address maps to: 33:33 and its low 32 bits (RFC 2464 §7).</summary>
    public MacAddress MulticastMac => new(0x3333_0000_0000UL | (Low & 0xFFFF_FFFF));

    /// <summary>The link-local address fe80::/64 with the modified EUI-64 interface identifier of <paramref name="mac"/> (RFC 4291 appendix A).</summary>
    public static Ipv6Address LinkLocal(MacAddress mac) => new(0xFE80_0000_0000_0000UL, InterfaceIdentifier(mac));

    /// <summary>The modified EUI-64 identifier: ff:fe in the middle, the universal/local bit inverted.</summary>
    public static ulong InterfaceIdentifier(MacAddress mac)
    {
        ulong m = mac.Value;
        ulong eui = (m >> 24) << 40 | 0xFF_FEUL << 24 | (m & 0xFF_FFFF);
        return eui ^ 0x0200_0000_0000_0000UL;
    }

    /// <summary>The first <paramref name="prefixLength"/> bits of this address, the rest zero.</summary>
    public Ipv6Address Prefix(int prefixLength) => prefixLength switch
    {
        <= 0 => Any,
        < 64 => new(High & ~(ulong.MaxValue >> prefixLength), 0),
        64 => new(High, 0),
        < 128 => new(High, Low & ~(ulong.MaxValue >> (prefixLength - 64))),
        _ => this,
    };

    /// <summary>True when the first <paramref name="prefixLength"/> bits equal <paramref name="other"/>'s.</summary>
    public bool SharesPrefix(Ipv6Address other, int prefixLength) => Prefix(prefixLength) == other.Prefix(prefixLength);

    public int CompareTo(Ipv6Address other)
    {
        int c = High.CompareTo(other.High);
        return c != 0 ? c : Low.CompareTo(other.Low);
    }

    public override string ToString()
    {
        Span<char> buffer = stackalloc char[39];
        TryFormat(buffer, out int n, default, null);
        return new string(buffer[..n]);
    }

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    /// <summary>The RFC 5952 text form: lower case, no leading zeros, the longest run of two or more zero groups as "::".</summary>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        charsWritten = 0;
        Span<ushort> groups = stackalloc ushort[8];
        for (int i = 0; i < 4; i++)
        {
            groups[i] = (ushort)(High >> (48 - 16 * i));
            groups[i + 4] = (ushort)(Low >> (48 - 16 * i));
        }
        int bestStart = -1, bestLength = 1;
        for (int i = 0; i < 8;)
        {
            if (groups[i] != 0)
            {
                i++;
                continue;
            }
            int start = i;
            while (i < 8 && groups[i] == 0)
            {
                i++;
            }
            if (i - start > bestLength)
            {
                bestStart = start;
                bestLength = i - start;
            }
        }
        int n = 0;
        for (int i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                if (destination.Length < n + 2)
                {
                    return false;
                }
                destination[n++] = ':';
                if (i == 0)
                {
                    destination[n++] = ':';
                }
                i += bestLength - 1;
                continue;
            }
            if (!groups[i].TryFormat(destination[n..], out int written, "x", null))
            {
                return false;
            }
            n += written;
            if (i < 7)
            {
                if (destination.Length < n + 1)
                {
                    return false;
                }
                destination[n++] = ':';
            }
        }
        charsWritten = n;
        return true;
    }

    public static Ipv6Address Parse(string s) => Parse(s.AsSpan(), null);
    public static Ipv6Address Parse(string s, IFormatProvider? provider) => Parse(s.AsSpan(), provider);

    public static Ipv6Address Parse(ReadOnlySpan<char> s, IFormatProvider? provider) =>
        TryParse(s, provider, out var address) ? address : throw new FormatException($"'{s}' is not an IPv6 address (expected e.g. 2001:db8::1)");

    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out Ipv6Address result) =>
        TryParse(s.AsSpan(), provider, out result);

    public static bool TryParse(ReadOnlySpan<char> s, out Ipv6Address result) => TryParse(s, null, out result);

    /// <summary>Parses RFC 4291 §2.2 text (with "::" and a trailing dotted quad); no zone index, no brackets.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, out Ipv6Address result)
    {
        result = default;
        Span<ushort> groups = stackalloc ushort[8];
        int count = 0;
        int gap = -1;
        int i = 0;
        if (s.StartsWith("::"))
        {
            gap = 0;
            i = 2;
            if (s.Length == 2)
            {
                return true;
            }
        }
        while (i < s.Length)
        {
            if (count == 8)
            {
                return false;
            }
            int start = i;
            int value = 0;
            while (i < s.Length && i - start < 4 && char.IsAsciiHexDigit(s[i]))
            {
                value = value << 4 | HexValue(s[i]);
                i++;
            }
            if (i < s.Length && s[i] == '.')
            {
                // The last 32 bits as a dotted quad (RFC 4291 §2.2 form 3).
                if (count > 6 || !Ipv4Address.TryParse(s[start..], out var v4))
                {
                    return false;
                }
                groups[count++] = (ushort)(v4.Value >> 16);
                groups[count++] = (ushort)v4.Value;
                i = s.Length;
                break;
            }
            if (i == start)
            {
                return false;
            }
            groups[count++] = (ushort)value;
            if (i == s.Length)
            {
                break;
            }
            if (s[i] != ':')
            {
                return false;
            }
            i++;
            if (i < s.Length && s[i] == ':')
            {
                if (gap >= 0)
                {
                    return false;
                }
                gap = count;
                i++;
                if (i == s.Length)
                {
                    break;
                }
            }
            else if (i == s.Length)
            {
                return false;
            }
        }
        if (gap < 0 ? count != 8 : count > 7)
        {
            return false;
        }
        if (gap >= 0)
        {
            int move = count - gap;
            for (int k = 0; k < move; k++)
            {
                groups[7 - k] = groups[count - 1 - k];
            }
            for (int k = gap; k < 8 - move; k++)
            {
                groups[k] = 0;
            }
        }
        ulong high = 0, low = 0;
        for (int k = 0; k < 4; k++)
        {
            high = high << 16 | groups[k];
            low = low << 16 | groups[k + 4];
        }
        result = new Ipv6Address(high, low);
        return true;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => c - 'A' + 10,
    };
}
