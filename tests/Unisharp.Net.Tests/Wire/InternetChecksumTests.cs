using Unisharp.Devices;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Wire;

public class InternetChecksumTests
{
    [Fact]
    public void Compute_Rfc1071Example_MatchesPublishedSum()
    {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (one's complement), so the checksum is 220d.
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];

        Assert.Equal(0xddf2, InternetChecksum.Fold(InternetChecksum.Sum(data)));
        Assert.Equal(0x220d, InternetChecksum.Compute(data));
    }

    [Fact]
    public void Compute_CapturedIpv4Header_IsValid()
    {
        var header = Captures.EchoRequest.AsSpan(14, 20);

        Assert.True(InternetChecksum.IsValid(header));
        header[10] = 0;
        header[11] = 0;
        Assert.Equal(0xd7da, InternetChecksum.Compute(header));
    }

    [Fact]
    public void Compute_AnyLengthAndAlignment_MatchesScalarReference()
    {
        var random = new SeededEntropy(7);
        byte[] buffer = new byte[4200];
        random.Fill(buffer);
        for (int length = 0; length <= 2100; length += length < 100 ? 1 : 37)
        {
            for (int offset = 0; offset < 4; offset++)
            {
                var data = buffer.AsSpan(offset, length);
                Assert.Equal(InternetChecksum.ComputeScalar(data), InternetChecksum.Compute(data));
            }
        }
    }

    [Fact]
    public void Compute_AllOnes_FoldsWithoutOverflow()
    {
        byte[] data = new byte[65535];
        data.AsSpan().Fill(0xFF);

        Assert.Equal(InternetChecksum.ComputeScalar(data), InternetChecksum.Compute(data));
    }

    [Fact]
    public void Sum_SplitAtEvenOffset_AddsUp()
    {
        byte[] data = Captures.UdpHello.AsSpan(14).ToArray();
        ulong whole = InternetChecksum.Sum(data);
        ulong parts = InternetChecksum.Sum(data.AsSpan(0, 12)) + InternetChecksum.Sum(data.AsSpan(12));

        Assert.Equal(InternetChecksum.Fold(whole), InternetChecksum.Fold(parts));
    }
}
