using System.Diagnostics.CodeAnalysis;

namespace Unisharp.Net;

/// <summary>An interface address with its prefix length, as in <c>198.18.0.2/24</c>.</summary>
public readonly record struct Ipv4Cidr(Ipv4Address Address, int PrefixLength) : ISpanParsable<Ipv4Cidr>
{
    public uint Mask => PrefixLength == 0 ? 0 : uint.MaxValue << (32 - PrefixLength);
    public Ipv4Address Network => new(Address.Value & Mask);
    public Ipv4Address BroadcastAddress => new(Address.Value | ~Mask);

    /// <summary>True when <paramref name="other"/> is on this subnet (on-link).</summary>
    public bool Contains(Ipv4Address other) => (other.Value & Mask) == (Address.Value & Mask);

    public override string ToString() => $"{Address}/{PrefixLength}";

    public static Ipv4Cidr Parse(string s) => Parse(s.AsSpan(), null);
    public static Ipv4Cidr Parse(string s, IFormatProvider? provider) => Parse(s.AsSpan(), provider);

    public static Ipv4Cidr Parse(ReadOnlySpan<char> s, IFormatProvider? provider) =>
        TryParse(s, provider, out var cidr) ? cidr : throw new FormatException($"'{s}' is not an IPv4 address with prefix (expected A.B.C.D/N)");

    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out Ipv4Cidr result) =>
        TryParse(s.AsSpan(), provider, out result);

    public static bool TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, out Ipv4Cidr result)
    {
        result = default;
        int slash = s.IndexOf('/');
        if (slash < 0 || !Ipv4Address.TryParse(s[..slash], provider, out var address))
        {
            return false;
        }
        var prefix = s[(slash + 1)..];
        if (prefix.Length is 0 or > 2 || !int.TryParse(prefix, System.Globalization.NumberStyles.None, null, out int length) || length > 32)
        {
            return false;
        }
        result = new Ipv4Cidr(address, length);
        return true;
    }
}
