namespace Unisharp.Block.Tests;

/// <summary>A file of random bytes under the temporary directory, deleted on dispose.</summary>
internal sealed class TempFile : IDisposable
{
    public TempFile(long length, int seed, string? directory = null)
    {
        Path = System.IO.Path.Combine(directory ?? System.IO.Path.GetTempPath(), $"unisharp-block-{Guid.NewGuid():N}.img");
        using var stream = new FileStream(Path, FileMode.CreateNew);
        var random = new Random(seed);
        var chunk = new byte[64 * 1024];
        for (long done = 0; done < length; done += chunk.Length)
        {
            random.NextBytes(chunk);
            stream.Write(chunk, 0, (int)Math.Min(chunk.Length, length - done));
        }
    }

    public string Path { get; }

    public byte[] Sha256() => System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path));

    public void Dispose() => File.Delete(Path);
}
