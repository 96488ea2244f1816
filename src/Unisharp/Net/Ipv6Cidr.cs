using System.Diagnostics.CodeAnalysis;

namespace Unisharp.Net;

/// <summary>An IPv6 interface address with its prefix length, as in <c>fd00:198:18::2/64</c>.</summary>
public readonly record struct Ipv6Cidr(Ipv6Address Address, int PrefixLength) : ISpanParsable<Ipv6Cidr>
{
    /// <summary>True when <paramref name="other"/> is in this prefix (on-link).</summary>
    public bool Contains(Ipv6Address other) => Address.SharesPrefix(other, PrefixLength);

    public override string ToString() => $"{Address}/{PrefixLength}";

    public static Ipv6Cidr Parse(string s) => Parse(s.AsSpan(), null);
    public static Ipv6Cidr Parse(string s, IFormatProvider? provider) => Parse(s.AsSpan(), provider);

    public static Ipv6Cidr Parse(ReadOnlySpan<char> s, IFormatProvider? provider) =>
        TryParse(s, provider, out var cidr) ? cidr : throw new FormatException($"'{s}' is not an IPv6 address with prefix (expected e.g. 2001:db8::2/64)");

    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out Ipv6Cidr result) =>
        TryParse(s.AsSpan(), provider, out result);

    public static bool TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, out Ipv6Cidr result)
    {
        result = default;
        int slash = s.IndexOf('/');
        if (slash < 0 || !Ipv6Address.TryParse(s[..slash], provider, out var address))
        {
            return false;
        }
        var prefix = s[(slash + 1)..];
        if (prefix.Length is 0 or > 3 || !int.TryParse(prefix, System.Globalization.NumberStyles.None, null, out int length) || length > 128)
        {
            return false;
        }
        result = new Ipv6Cidr(address, length);
        return true;
    }
}
