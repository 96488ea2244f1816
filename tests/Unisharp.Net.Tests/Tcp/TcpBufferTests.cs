using Unisharp.Net.Tcp;

namespace Unisharp.Net.Tests.Tcp;

public class TcpBufferTests
{
    [Fact]
    public void ReceiveBuffer_OutOfOrderThenHoleFilled_DeliversInOrder()
    {
        var buffer = new TcpReceiveBuffer(16);

        Assert.Equal(0, buffer.Write(4, "efgh"u8));
        Assert.Equal(0, buffer.Write(10, "kl"u8));
        Assert.Equal(2, buffer.RangeCount);
        Assert.Equal(8, buffer.Write(0, "abcd"u8));
        Assert.Equal(1, buffer.RangeCount);
        Assert.Equal((2, 4), buffer.Range(0));
        Assert.Equal(4, buffer.Write(0, "ijkl"u8));

        byte[] read = new byte[20];
        Assert.Equal(12, buffer.Read(read));
        Assert.Equal("abcdefghijkl"u8.ToArray(), read[..12]);
        Assert.Equal(16, buffer.Window);
    }

    [Fact]
    public void ReceiveBuffer_WrapsAroundRing_BytesIntact()
    {
        var buffer = new TcpReceiveBuffer(10);
        byte[] read = new byte[10];
        buffer.Write(0, "0123456"u8);
        buffer.Read(read.AsSpan(0, 5));

        Assert.Equal(0, buffer.Write(3, "ABCDE"u8));
        Assert.Equal(8, buffer.Write(0, "789"u8));
        Assert.Equal(10, buffer.Readable);
        Assert.Equal(10, buffer.Read(read));
        Assert.Equal("56789ABCDE"u8.ToArray(), read);
    }

    [Fact]
    public void ReceiveBuffer_GrowWhileWrappedWithOutOfOrderRange_KeepsBytesAndRange()
    {
        var buffer = new TcpReceiveBuffer(10, pooled: true);
        byte[] read = new byte[32];
        buffer.Write(0, "0123456"u8);
        buffer.Read(read.AsSpan(0, 5));
        // "56" readable at the ring's end, "9A" out of order after a hole, wrapped to the front.
        Assert.Equal(0, buffer.Write(2, "9A"u8));

        buffer.Grow(32);

        Assert.Equal(32, buffer.Capacity);
        Assert.Equal(30, buffer.Window);
        Assert.Equal(1, buffer.RangeCount);
        Assert.Equal(4, buffer.Write(0, "78"u8));
        Assert.Equal(6, buffer.Read(read));
        Assert.Equal("56789A"u8.ToArray(), read[..6]);
        buffer.Release();
        Assert.Equal(0, buffer.Capacity);
    }

    [Fact]
    public void ReceiveBuffer_TooManyRanges_DropsSegment()
    {
        var buffer = new TcpReceiveBuffer(1000);
        for (int i = 0; i < buffer.MaxRanges; i++)
        {
            Assert.Equal(0, buffer.Write(10 + 20 * i, "x"u8));
        }

        Assert.Equal(-1, buffer.Write(500, "y"u8));
        Assert.Equal(0, buffer.Write(11, "x"u8));
    }

    [Fact]
    public void SendBuffer_WriteCopyConsume_Wraps()
    {
        var buffer = new TcpSendBuffer(8);
        Assert.Equal(6, buffer.Write("abcdef"u8));
        buffer.Consume(4);
        Assert.Equal(6, buffer.Write("ghijklmn"u8));
        Assert.Equal(0, buffer.Free);

        byte[] copy = new byte[6];
        buffer.CopyTo(2, copy);
        Assert.Equal("ghijkl"u8.ToArray(), copy);
    }

    [Fact]
    public void Scoreboard_BlocksMergeAndHolesFound()
    {
        var board = new TcpSackScoreboard();
        var una = new SeqNum(uint.MaxValue - 100);

        board.Add(una + 300, una + 400);
        board.Add(una + 100, una + 200);
        board.Add(una + 200, una + 250);

        Assert.Equal(2, board.Count);
        Assert.Equal(250, board.SackedBytes);
        Assert.Equal(una + 400, board.HighSacked(una));
        Assert.True(board.NextHole(una, out var start, out int length));
        Assert.Equal((una, 100), (start, length));
        Assert.True(board.NextHole(una + 150, out start, out length));
        Assert.Equal((una + 250, 50), (start, length));
        Assert.False(board.NextHole(una + 350, out _, out _));
        Assert.Equal(150, board.HoleBytes(una, una + 400));
        Assert.Equal(100, board.SackedAbove(una + 300));

        board.Prune(una + 320);
        Assert.Equal(1, board.Count);
        Assert.Equal((una + 320, una + 400), board[0]);
    }

    [Fact]
    public void Scoreboard_Full_ForgetsLowestRange()
    {
        var board = new TcpSackScoreboard();
        for (int i = 0; i < TcpSackScoreboard.MaxRanges + 3; i++)
        {
            board.Add(new SeqNum((uint)(100 * i + 10)), new SeqNum((uint)(100 * i + 20)));
        }

        Assert.Equal(TcpSackScoreboard.MaxRanges, board.Count);
        Assert.Equal(new SeqNum(100 * (TcpSackScoreboard.MaxRanges + 2) + 20), board.HighSacked(default));
    }
}
