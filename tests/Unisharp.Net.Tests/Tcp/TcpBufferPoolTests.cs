using Unisharp.Net.Tcp;

namespace Unisharp.Net.Tests.Tcp;

public class TcpBufferPoolTests
{
    [Fact]
    public void Release_ThenNewBuffer_ReusesTheRingOfTheSameLength()
    {
        var pool = new TcpBufferPool(1024);
        var first = new TcpReceiveBuffer(256, pooled: true, pool);
        first.Write(0, "stale"u8);
        first.Release();
        Assert.Equal(256, pool.RetainedBytes);

        var second = new TcpReceiveBuffer(256, pooled: true, pool);

        Assert.Equal(0, pool.RetainedBytes);
        // The reused ring's old bytes are never readable.
        Assert.Equal(0, second.Readable);
        Assert.Equal(256, second.Window);
    }

    [Fact]
    public void Return_BeyondTheBound_DropsTheRing()
    {
        var pool = new TcpBufferPool(300);
        new TcpSendBuffer(256, pooled: true, pool).Release();
        new TcpSendBuffer(256, pooled: true, pool).Release();

        Assert.Equal(256, pool.RetainedBytes);
        var a = pool.Rent(256);
        var b = pool.Rent(256);
        Assert.NotSame(a, b);
        Assert.Equal(256, b.Length);
        Assert.Equal(0, pool.RetainedBytes);
    }
}
