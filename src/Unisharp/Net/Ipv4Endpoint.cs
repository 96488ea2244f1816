using System.Diagnostics.CodeAnalysis;

namespace Unisharp.Net;

/// <summary>An IPv4 address and a port: one end of a TCP connection or a UDP flow.</summary>
public readonly record struct Ipv4Endpoint(Ipv4Address Address, ushort Port) : ISpanParsable<Ipv4Endpoint>
{
    public override string ToString() => $"{Address}:{Port}";

    public static Ipv4Endpoint Parse(string s) => Parse(s.AsSpan(), null);
    public static Ipv4Endpoint Parse(string s, IFormatProvider? provider) => Parse(s.AsSpan(), provider);

    public static Ipv4Endpoint Parse(ReadOnlySpan<char> s, IFormatProvider? provider) =>
        TryParse(s, provider, out var endpoint) ? endpoint : throw new FormatException($"'{s}' is not an IPv4 endpoint (expected A.B.C.D:PORT)");

    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out Ipv4Endpoint result) =>
        TryParse(s.AsSpan(), provider, out result);

    public static bool TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, out Ipv4Endpoint result)
    {
        result = default;
        int colon = s.LastIndexOf(':');
        if (colon < 0 || !Ipv4Address.TryParse(s[..colon], provider, out var address)
            || !ushort.TryParse(s[(colon + 1)..], System.Globalization.NumberStyles.None, null, out ushort port))
        {
            return false;
        }
        result = new Ipv4Endpoint(address, port);
        return true;
    }
}
