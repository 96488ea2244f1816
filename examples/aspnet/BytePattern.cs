using System.Buffers.Binary;

/// <summary>
/// A seeded byte pattern: little-endian 64-bit words, word i being SplitMix64(seed + i). Every position
/// differs, so a lost, repeated or misplaced segment changes a hash of the stream.
/// </summary>
internal static class BytePattern
{
    /// <summary>Writes the pattern's bytes starting at <paramref name="offset"/>, which must be a multiple of 8.</summary>
    public static void Fill(Span<byte> destination, long offset, ulong seed)
    {
        ulong word = seed + (ulong)(offset / 8);
        int i = 0;
        for (; i + 8 <= destination.Length; i += 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination[i..], SplitMix64(word++));
        }
        if (i < destination.Length)
        {
            Span<byte> last = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(last, SplitMix64(word));
            last[..(destination.Length - i)].CopyTo(destination[i..]);
        }
    }

    private static ulong SplitMix64(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
