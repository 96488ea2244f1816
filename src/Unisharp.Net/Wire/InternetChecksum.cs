using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Unisharp.Net.Wire;

/// <summary>
/// The Internet checksum (RFC 1071): the one's complement of the one's complement sum of 16-bit words.
/// </summary>
/// <remarks>
/// RFC 1071 §2(B): the sum does not depend on byte order, so words are added in the machine's native
/// order (32 bytes at a time with Vector256, 16 with Vector128, then a scalar tail) and the folded result
/// is swapped once at the end. Sums of 32-bit words fold to the same 16-bit value because 2^16 ≡ 1 (mod 2^16-1).
/// Partial sums (<see cref="Sum"/>) of pieces that each start at an even offset may simply be added.
/// </remarks>
internal static class InternetChecksum
{
    /// <summary>The unfolded native-order sum of <paramref name="data"/>, to add to other partial sums.</summary>
    public static ulong Sum(ReadOnlySpan<byte> data)
    {
        ulong sum = 0;
        ref byte start = ref MemoryMarshal.GetReference(data);
        nuint length = (nuint)data.Length;
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated && length >= 32)
        {
            var acc = Vector256<ulong>.Zero;
            for (; i + 32 <= length; i += 32)
            {
                var words = Vector256.LoadUnsafe(ref start, i).AsUInt32();
                var (lo, hi) = Vector256.Widen(words);
                acc += lo + hi;
            }
            sum += Vector256.Sum(acc);
        }
        if (Vector128.IsHardwareAccelerated && i + 16 <= length)
        {
            var acc = Vector128<ulong>.Zero;
            for (; i + 16 <= length; i += 16)
            {
                var words = Vector128.LoadUnsafe(ref start, i).AsUInt32();
                var (lo, hi) = Vector128.Widen(words);
                acc += lo + hi;
            }
            sum += Vector128.Sum(acc);
        }
        for (; i + 4 <= length; i += 4)
        {
            sum += Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref start, i));
        }
        if (i + 2 <= length)
        {
            sum += Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref start, i));
            i += 2;
        }
        if (i < length)
        {
            // The odd last byte is the high byte of a word padded with zero (RFC 1071 §4.1).
            byte last = Unsafe.Add(ref start, i);
            sum += BitConverter.IsLittleEndian ? last : (ulong)last << 8;
        }
        return sum;
    }

    /// <summary>The native-order sum of the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1).</summary>
    public static ulong PseudoHeaderSum(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int length)
    {
        Span<byte> header = stackalloc byte[12];
        source.Write(header);
        destination.Write(header[4..]);
        header[8] = 0;
        header[9] = (byte)protocol;
        BinaryPrimitives.WriteUInt16BigEndian(header[10..], (ushort)length);
        return Sum(header);
    }

    /// <summary>The native-order sum of the IPv6 pseudo-header (RFC 8200 §8.1): addresses, upper-layer length, next header.</summary>
    public static ulong PseudoHeaderSum(Ipv6Address source, Ipv6Address destination, IpProtocol protocol, int length)
    {
        Span<byte> header = stackalloc byte[40];
        source.Write(header);
        destination.Write(header[16..]);
        BinaryPrimitives.WriteUInt32BigEndian(header[32..], (uint)length);
        BinaryPrimitives.WriteUInt32BigEndian(header[36..], (byte)protocol);
        return Sum(header);
    }

    /// <summary>Folds a native-order sum to 16 bits and returns it in network order as a number (to write big-endian).</summary>
    public static ushort Fold(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        ushort folded = (ushort)sum;
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(folded) : folded;
    }

    /// <summary>The checksum to store: the complement of the folded sum.</summary>
    public static ushort Finish(ulong sum) => (ushort)~Fold(sum);

    /// <summary>The checksum of one buffer (its checksum field must be zero when emitting).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Sum(data));

    /// <summary>True when <paramref name="data"/>, checksum field included, sums to all ones.</summary>
    public static bool IsValid(ReadOnlySpan<byte> data) => Fold(Sum(data)) == 0xFFFF;

    /// <summary>The plain RFC 1071 reference loop, one big-endian word at a time (for tests and the odd short header).</summary>
    public static ushort ComputeScalar(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if (i < data.Length)
        {
            sum += (uint)data[i] << 8;
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;
    }
}
