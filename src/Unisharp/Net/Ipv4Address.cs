using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Unisharp.Net;

/// <summary>An IPv4 address held as a 32-bit number in host order (198.18.0.1 is 0xC6120001).</summary>
public readonly record struct Ipv4Address(uint Value) : ISpanFormattable, ISpanParsable<Ipv4Address>, IComparable<Ipv4Address>
{
    public const int Length = 4;

    public static readonly Ipv4Address Any = new(0);
    public static readonly Ipv4Address Broadcast = new(0xFFFF_FFFF);
    public static readonly Ipv4Address Loopback = new(0x7F00_0001);

    public Ipv4Address(byte a, byte b, byte c, byte d) : this((uint)(a << 24 | b << 16 | c << 8 | d)) { }

    /// <summary>Reads an address stored in network order.</summary>
    public static Ipv4Address Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt32BigEndian(bytes));

    /// <summary>Writes the address in network order.</summary>
    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt32BigEndian(destination, Value);

    public bool IsUnspecified => Value == 0;
    public bool IsBroadcast => Value == 0xFFFF_FFFF;
    public bool IsMulticast => (Value >> 28) == 0xE;
    public bool IsLoopback => (Value >> 24) == 127;

    public int CompareTo(Ipv4Address other) => Value.CompareTo(other.Value);

    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider) =>
        destination.TryWrite($"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}", out charsWritten);

    public static Ipv4Address Parse(string s) => Parse(s.AsSpan(), null);
    public static Ipv4Address Parse(string s, IFormatProvider? provider) => Parse(s.AsSpan(), provider);

    public static Ipv4Address Parse(ReadOnlySpan<char> s, IFormatProvider? provider) =>
        TryParse(s, provider, out var address) ? address : throw new FormatException($"'{s}' is not an IPv4 address (expected A.B.C.D)");

    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out Ipv4Address result) =>
        TryParse(s.AsSpan(), provider, out result);

    public static bool TryParse(ReadOnlySpan<char> s, out Ipv4Address result) => TryParse(s, null, out result);

    /// <summary>Parses strict dotted-quad notation: four decimal parts of 0-255, no leading '+' or spaces.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, out Ipv4Address result)
    {
        result = default;
        uint value = 0;
        int parts = 0;
        int i = 0;
        while (parts < 4)
        {
            int start = i;
            uint part = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i]) && i - start < 3)
            {
                part = part * 10 + (uint)(s[i] - '0');
                i++;
            }
            if (i == start || part > 255)
            {
                return false;
            }
            value = value << 8 | part;
            parts++;
            if (parts < 4)
            {
                if (i >= s.Length || s[i] != '.')
                {
                    return false;
                }
                i++;
            }
        }
        if (i != s.Length)
        {
            return false;
        }
        result = new Ipv4Address(value);
        return true;
    }
}
