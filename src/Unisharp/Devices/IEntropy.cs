namespace Unisharp.Devices;

/// <summary>A source of random bytes: cryptographic on real targets, seeded in simulations and tests.</summary>
public interface IEntropy
{
    void Fill(Span<byte> destination);
}
