using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>The prefix information option of a router advertisement (RFC 4861 §4.6.2).</summary>
/// <remarks>
/// <code>
/// | Type 3 | Length 4 | Prefix Length |L|A| Reserved1 |
/// |                 Valid Lifetime (s)               |
/// |               Preferred Lifetime (s)             |
/// |                    Reserved2                     |
/// |                Prefix (16 bytes)                 |
/// L: on-link; A: autonomous (SLAAC, RFC 4862 §5.5.3). 0xffffffff is infinity.
/// </code>
/// </remarks>
internal readonly record struct NdpPrefixInformation(
    Ipv6Address Prefix, byte PrefixLength, bool OnLink, bool Autonomous, uint ValidLifetime, uint PreferredLifetime)
{
    public const uint Infinite = uint.MaxValue;
    /// <summary>The option's bytes after its type and length fields.</summary>
    public const int DataLength = 30;

    public static bool TryRead(ReadOnlySpan<byte> data, out NdpPrefixInformation prefix)
    {
        prefix = default;
        if (data.Length < DataLength || data[0] > 128)
        {
            return false;
        }
        prefix = new NdpPrefixInformation(Ipv6Address.Read(data[14..]), data[0], (data[1] & 0x80) != 0, (data[1] & 0x40) != 0,
            BinaryPrimitives.ReadUInt32BigEndian(data[2..]), BinaryPrimitives.ReadUInt32BigEndian(data[6..]));
        return true;
    }

    public void Write(Span<byte> data)
    {
        data[0] = PrefixLength;
        data[1] = (byte)((OnLink ? 0x80 : 0) | (Autonomous ? 0x40 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(data[2..], ValidLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(data[6..], PreferredLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(data[10..], 0);
        Prefix.Write(data[14..]);
    }
}
