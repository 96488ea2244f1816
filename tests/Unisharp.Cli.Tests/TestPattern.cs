using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Unisharp.Cli.Tests;

/// <summary>
/// The byte pattern the tcp-transfer and http examples send (little-endian words, word i = SplitMix64(seed + i)),
/// computed here on its own so a test knows what must arrive without trusting the app.
/// </summary>
internal static class TestPattern
{
    public static string Sha256(long length, ulong seed = 0)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] chunk = new byte[1 << 20];
        byte[] last = new byte[8];
        ulong word = seed;
        for (long offset = 0; offset < length; offset += chunk.Length)
        {
            int n = (int)Math.Min(chunk.Length, length - offset);
            for (int i = 0; i < n; i += 8)
            {
                ulong value = SplitMix64(word++);
                if (i + 8 <= n)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(chunk.AsSpan(i), value);
                }
                else
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(last, value);
                    last[..(n - i)].CopyTo(chunk.AsSpan(i));
                }
            }
            hash.AppendData(chunk, 0, n);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>A file of <paramref name="length"/> random bytes in the temp folder, and its SHA-256.</summary>
    public static (string Path, string Sha256) RandomFile(long length)
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"peer-{Guid.NewGuid():N}.bin");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] chunk = new byte[1 << 20];
        using (var file = File.Create(path))
        {
            for (long written = 0; written < length; written += chunk.Length)
            {
                int n = (int)Math.Min(chunk.Length, length - written);
                Random.Shared.NextBytes(chunk.AsSpan(0, n));
                hash.AppendData(chunk, 0, n);
                file.Write(chunk, 0, n);
            }
        }
        return (path, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static ulong SplitMix64(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
