using System.Security.Cryptography;

namespace Unisharp.Devices;

/// <summary>The kernel's cryptographic random source (getrandom).</summary>
public sealed class SystemEntropy : IEntropy
{
    public void Fill(Span<byte> destination) => RandomNumberGenerator.Fill(destination);
}
