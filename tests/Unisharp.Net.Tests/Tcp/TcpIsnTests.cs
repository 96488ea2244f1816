using System.Buffers.Binary;
using Unisharp.Net.Tcp;

namespace Unisharp.Net.Tests.Tcp;

public class TcpIsnTests
{
    [Fact]
    public void SipHash_ReferenceVectors_Match()
    {
        // The SipHash-2-4 paper's vectors: key 00 01 .. 0f, messages 00 01 .. (n-1).
        byte[] key = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        ulong k0 = BinaryPrimitives.ReadUInt64LittleEndian(key);
        ulong k1 = BinaryPrimitives.ReadUInt64LittleEndian(key.AsSpan(8));
        byte[] message = Enumerable.Range(0, 15).Select(i => (byte)i).ToArray();

        Assert.Equal(0x726fdb47dd0e0e31UL, SipHash.Hash(k0, k1, []));
        Assert.Equal(0xa129ca6149be45e5UL, SipHash.Hash(k0, k1, message));
    }

    [Fact]
    public void Isn_PerTupleAndClock_Rfc6528()
    {
        var net = TcpNet.Create(50);
        var layer = net.A.TcpLayer;
        var local = new Ipv4Endpoint(TcpNet.AddressA, 50000);
        var remote = new Ipv4Endpoint(TcpNet.AddressB, 80);
        var t0 = Instant.FromMilliseconds(1000);

        var first = layer.Isn(local, remote, t0);
        var later = layer.Isn(local, remote, t0 + Duration.FromMilliseconds(4));
        var otherPort = layer.Isn(local with { Port = 50001 }, remote, t0);

        // M is a 4 µs clock: 4 ms later the same tuple's ISN is 1000 ahead; another tuple's is unrelated.
        Assert.Equal(1000, later - first);
        Assert.NotEqual(first, otherPort);
        Assert.True(Math.Abs(otherPort - first) > 1_000_000, "neighbouring tuples got nearby ISNs");
        // The secret comes from the injected entropy: another stack with another seed gives another ISN.
        Assert.NotEqual(first, TcpNet.Create(51).A.TcpLayer.Isn(local, remote, t0));
    }
}
