using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Unisharp.Net;

/// <summary>A 48-bit Ethernet MAC address, held in the low 48 bits of a number (first octet most significant).</summary>
public readonly record struct MacAddress : ISpanFormattable, ISpanParsable<MacAddress>
{
    public const int Length = 6;

    public static readonly MacAddress Broadcast = new(0xFFFF_FFFF_FFFFUL);
    public static readonly MacAddress Zero = new(0UL);

    public MacAddress(ulong value) => Value = value & 0xFFFF_FFFF_FFFFUL;

    public ulong Value { get; }

    public static MacAddress Read(ReadOnlySpan<byte> bytes) =>
        new((ulong)BinaryPrimitives.ReadUInt16BigEndian(bytes) << 32 | BinaryPrimitives.ReadUInt32BigEndian(bytes[2..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(Value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)Value);
    }

    public bool IsBroadcast => Value == 0xFFFF_FFFF_FFFFUL;
    /// <summary>Group bit set (this includes broadcast).</summary>
    public bool IsMulticast => (Value & 0x0100_0000_0000UL) != 0;
    public bool IsUnicast => !IsMulticast;
    public bool IsLocallyAdministered => (Value & 0x0200_0000_0000UL) != 0;

    /// <summary>A random locally administered unicast address, as a TAP device or VMM would make.</summary>
    public static MacAddress CreateLocal(ReadOnlySpan<byte> random)
    {
        Span<byte> b = stackalloc byte[6];
        random[..6].CopyTo(b);
        b[0] = (byte)((b[0] & 0xFC) | 0x02);
        return Read(b);
    }

    public override string ToString()
    {
        Span<char> buffer = stackalloc char[17];
        TryFormat(buffer, out int n, default, null);
        return new string(buffer[..n]);
    }

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        charsWritten = 0;
        if (destination.Length < 17)
        {
            return false;
        }
        for (int i = 0; i < 6; i++)
        {
            byte octet = (byte)(Value >> (40 - 8 * i));
            if (i > 0)
            {
                destination[charsWritten++] = ':';
            }
            destination[charsWritten++] = "0123456789abcdef"[octet >> 4];
            destination[charsWritten++] = "0123456789abcdef"[octet & 0xF];
        }
        return true;
    }

    public static MacAddress Parse(string s) => Parse(s.AsSpan(), null);
    public static MacAddress Parse(string s, IFormatProvider? provider) => Parse(s.AsSpan(), provider);

    public static MacAddress Parse(ReadOnlySpan<char> s, IFormatProvider? provider) =>
        TryParse(s, provider, out var mac) ? mac : throw new FormatException($"'{s}' is not a MAC address (expected aa:bb:cc:dd:ee:ff)");

    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out MacAddress result) =>
        TryParse(s.AsSpan(), provider, out result);

    /// <summary>Parses six hexadecimal octets separated by ':' or '-'.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, out MacAddress result)
    {
        result = default;
        if (s.Length != 17)
        {
            return false;
        }
        ulong value = 0;
        for (int i = 0; i < 6; i++)
        {
            int hi = HexValue(s[i * 3]);
            int lo = HexValue(s[i * 3 + 1]);
            if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] is not (':' or '-')))
            {
                return false;
            }
            value = value << 8 | (uint)(hi << 4 | lo);
        }
        result = new MacAddress(value);
        return true;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
