using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;

namespace Unisharp.Cli.Images;

/// <summary>
/// LZ4 in its legacy frame (what <c>lz4 -l</c> writes and Linux unpacks an initramfs from, CONFIG_RD_LZ4): the magic
/// number, then for each block of at most 8 MiB of input its compressed length (32-bit little-endian) and the LZ4
/// block. Matches are found through hash chains with lazy matching, as lz4's high-compression levels do, so the C
/// library packs within 1 % of <c>lz4 -9</c>; the kernel unpacks it in well under half the instructions gzip needs.
/// </summary>
/// <remarks>
/// An LZ4 block is a run of sequences: a token (literal length in the high nibble, match length − 4 in the low one,
/// 15 meaning "more in the following bytes", each 255 adding and the first smaller byte ending), the literals, the
/// match's distance back (16-bit little-endian) and the extra match length. The last sequence is literals only; the
/// last 5 bytes of a block are literals and no match starts in its last 12 bytes.
/// </remarks>
public static class Lz4Legacy
{
    /// <summary>The legacy frame's magic number (little-endian in the file: 02 21 4C 18).</summary>
    public const uint Magic = 0x184C2102;

    /// <summary>The input of one block: the kernel's decoder gives each block an 8 MiB output buffer.</summary>
    public const int BlockSize = 8 << 20;

    private const int MinMatch = 4;
    private const int LastLiterals = 5;
    private const int MatchStartLimit = 12;
    private const int MaxDistance = 65535;
    private const int HashBits = 17;
    private const int WindowMask = 0xFFFF;

    /// <summary>Compresses <paramref name="input"/> into <paramref name="output"/>, the magic number first.</summary>
    /// <param name="attempts">How many earlier positions with the same hash to try per position (more: smaller, slower).</param>
    public static void Compress(ReadOnlySpan<byte> input, Stream output, int attempts = 128)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(attempts, 1);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(word, Magic);
        output.Write(word);
        byte[] block = ArrayPool<byte>.Shared.Rent(MaxBlockLength(Math.Min(input.Length, BlockSize)));
        int[] head = ArrayPool<int>.Shared.Rent(1 << HashBits);
        int[] chain = ArrayPool<int>.Shared.Rent(WindowMask + 1);
        try
        {
            for (int start = 0; start < input.Length; start += BlockSize)
            {
                var source = input.Slice(start, Math.Min(BlockSize, input.Length - start));
                int length = CompressBlock(source, block, head.AsSpan(0, 1 << HashBits), chain, attempts);
                BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)length);
                output.Write(word);
                output.Write(block, 0, length);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
            ArrayPool<int>.Shared.Return(head);
            ArrayPool<int>.Shared.Return(chain);
        }
    }

    /// <summary>The most an LZ4 block of <paramref name="inputLength"/> bytes can take (incompressible input).</summary>
    public static int MaxBlockLength(int inputLength) => inputLength + inputLength / 255 + 16;

    private static uint Hash(ReadOnlySpan<byte> source, int position) =>
        (BinaryPrimitives.ReadUInt32LittleEndian(source[position..]) * 2654435761u) >> (32 - HashBits);

    private static int CompressBlock(ReadOnlySpan<byte> source, Span<byte> destination, Span<int> head, int[] chain, int attempts)
    {
        head.Fill(-1);
        int matchLimit = source.Length - LastLiterals;
        int startLimit = source.Length - MatchStartLimit;
        int anchor = 0;
        int position = 0;
        int inserted = 0; // every position before this one is in the hash chains
        int written = 0;
        while (position < startLimit)
        {
            inserted = Insert(source, head, chain, inserted, position);
            var (length, distance) = LongestMatch(source, head, chain, position, matchLimit, attempts);
            if (length < MinMatch)
            {
                position++;
                continue;
            }
            // Lazy matching: while a match starting one byte later is longer, the byte here becomes a literal.
            while (position + 1 < startLimit && position + length < matchLimit)
            {
                inserted = Insert(source, head, chain, inserted, position + 1);
                var (later, laterDistance) = LongestMatch(source, head, chain, position + 1, matchLimit, attempts);
                if (later <= length)
                {
                    break;
                }
                position++;
                (length, distance) = (later, laterDistance);
            }
            written = WriteSequence(destination, written, source[anchor..position], distance, length);
            position += length;
            anchor = position;
        }
        return WriteLastLiterals(destination, written, source[anchor..]);
    }

    /// <summary>Puts the positions from <paramref name="from"/> up to <paramref name="to"/> into the hash chains; returns the new end.</summary>
    private static int Insert(ReadOnlySpan<byte> source, Span<int> head, int[] chain, int from, int to)
    {
        int limit = Math.Min(to, source.Length - MinMatch);
        for (int position = from; position < limit; position++)
        {
            uint hash = Hash(source, position);
            chain[position & WindowMask] = head[(int)hash];
            head[(int)hash] = position;
        }
        return Math.Max(from, to);
    }

    /// <summary>The longest match for <paramref name="position"/> among the earlier positions with its hash (all inserted), and its distance.</summary>
    private static (int Length, int Distance) LongestMatch(ReadOnlySpan<byte> source, Span<int> head, int[] chain, int position, int matchLimit, int attempts)
    {
        int bestLength = 0;
        int bestDistance = 0;
        int candidate = head[(int)Hash(source, position)];
        for (int tries = attempts; candidate >= 0 && position - candidate <= MaxDistance && tries > 0; tries--)
        {
            // Check the byte that would make this candidate longer than the best first: most fail there.
            if (source[candidate + bestLength] == source[position + bestLength])
            {
                int length = CommonLength(source, candidate, position, matchLimit);
                if (length > bestLength)
                {
                    bestLength = length;
                    bestDistance = position - candidate;
                    if (position + length >= matchLimit)
                    {
                        break;
                    }
                }
            }
            candidate = chain[candidate & WindowMask];
        }
        return (bestLength, bestDistance);
    }

    /// <summary>How many bytes at <paramref name="earlier"/> equal those at <paramref name="position"/>, up to <paramref name="limit"/>.</summary>
    private static int CommonLength(ReadOnlySpan<byte> source, int earlier, int position, int limit)
    {
        int length = 0;
        int most = limit - position;
        while (length + 8 <= most)
        {
            ulong difference = BinaryPrimitives.ReadUInt64LittleEndian(source[(earlier + length)..]) ^
                BinaryPrimitives.ReadUInt64LittleEndian(source[(position + length)..]);
            if (difference != 0)
            {
                return length + (BitOperations.TrailingZeroCount(difference) >> 3);
            }
            length += 8;
        }
        while (length < most && source[earlier + length] == source[position + length])
        {
            length++;
        }
        return length;
    }

    private static int WriteSequence(Span<byte> destination, int at, ReadOnlySpan<byte> literals, int distance, int matchLength)
    {
        int token = at++;
        int extraMatch = matchLength - MinMatch;
        destination[token] = (byte)((Math.Min(literals.Length, 15) << 4) | Math.Min(extraMatch, 15));
        at = WriteLength(destination, at, literals.Length);
        literals.CopyTo(destination[at..]);
        at += literals.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[at..], (ushort)distance);
        at += 2;
        return WriteLength(destination, at, extraMatch);
    }

    private static int WriteLastLiterals(Span<byte> destination, int at, ReadOnlySpan<byte> literals)
    {
        destination[at++] = (byte)(Math.Min(literals.Length, 15) << 4);
        at = WriteLength(destination, at, literals.Length);
        literals.CopyTo(destination[at..]);
        return at + literals.Length;
    }

    /// <summary>The bytes after the token for a length of 15 or more: 255 for each full 255, then the rest.</summary>
    private static int WriteLength(Span<byte> destination, int at, int length)
    {
        if (length < 15)
        {
            return at;
        }
        for (length -= 15; length >= 255; length -= 255)
        {
            destination[at++] = 255;
        }
        destination[at++] = (byte)length;
        return at;
    }
}
