using Unisharp.Devices;
using Unisharp.Net.Udp;

namespace Unisharp.Net.Tests.Core;

public class DatagramRingTests
{
    [Fact]
    public void TryEnqueue_RandomSizes_ComesOutInOrderAndIntact()
    {
        var ring = new DatagramRing(1000, 16);
        var random = new SeededEntropy(3);
        var expected = new Queue<byte[]>();
        byte[] buffer = new byte[1000];
        for (int step = 0; step < 5000; step++)
        {
            if (random.NextDouble() < 0.55)
            {
                byte[] datagram = new byte[(int)(random.NextUInt64() % 300)];
                random.Fill(datagram);
                if (ring.TryEnqueue(datagram, new Ipv4Endpoint(Ipv4Address.Any, (ushort)step)))
                {
                    expected.Enqueue(datagram);
                }
                else
                {
                    Assert.True(expected.Count > 0, "an empty ring refused a datagram that fits");
                }
            }
            else if (ring.TryPeek(out var datagram, out _))
            {
                Assert.Equal(expected.Dequeue(), datagram.ToArray());
                ring.Dequeue();
            }
            else
            {
                Assert.Empty(expected);
            }
            Assert.Equal(expected.Count, ring.Count);
        }
    }

    [Fact]
    public void TryEnqueue_FullOfRecords_Refuses()
    {
        var ring = new DatagramRing(1000, 2);

        Assert.True(ring.TryEnqueue([1], default));
        Assert.True(ring.TryEnqueue([], default));
        Assert.False(ring.TryEnqueue([3], default));
    }

    [Fact]
    public void TryEnqueue_LargerThanStorage_Refuses()
    {
        Assert.False(new DatagramRing(10, 4).TryEnqueue(new byte[11], default));
    }
}
