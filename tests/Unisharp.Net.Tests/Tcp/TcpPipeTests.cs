using System.Buffers;
using System.IO.Pipelines;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Tcp;

public class TcpPipeTests
{
    private static readonly LinkConditions s_lan = new(Latency: Duration.FromMilliseconds(2), BitsPerSecond: 100_000_000);
    // Inline schedulers keep the pumps on the simulation's thread, so virtual time stays deterministic.
    private static readonly PipeOptions s_inline = new(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false);

    private static async Task<byte[]> ReadAllAsync(PipeReader reader)
    {
        var received = new MemoryStream(4 << 20);
        while (true)
        {
            var result = await reader.ReadAsync().ConfigureAwait(false);
            foreach (var segment in result.Buffer)
            {
                received.Write(segment.Span);
            }
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                await reader.CompleteAsync().ConfigureAwait(false);
                return received.ToArray();
            }
        }
    }

    private static async Task WriteAllAsync(PipeWriter writer, byte[] data, int chunk)
    {
        for (int offset = 0; offset < data.Length; offset += chunk)
        {
            int n = Math.Min(chunk, data.Length - offset);
            data.AsSpan(offset, n).CopyTo(writer.GetSpan(n));
            writer.Advance(n);
            await writer.FlushAsync().ConfigureAwait(false);
        }
        await writer.CompleteAsync().ConfigureAwait(false);
    }

    [Fact]
    public void AsPipe_FourMiBEachWay_RoundTripsByteExact()
    {
        var net = TcpNet.Create(21, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        var clientPipe = client.AsPipe(s_inline);
        var serverPipe = server.AsPipe(s_inline);
        byte[] up = TcpNet.RandomBytes(4 << 20, 1);
        byte[] down = TcpNet.RandomBytes(4 << 20, 2);

        var serverReads = ReadAllAsync(serverPipe.Input);
        var clientReads = ReadAllAsync(clientPipe.Input);
        var clientWrites = WriteAllAsync(clientPipe.Output, up, 70_000);
        var serverWrites = WriteAllAsync(serverPipe.Output, down, 33_333);

        Assert.True(up.AsSpan().SequenceEqual(net.Run(serverReads, Duration.FromSeconds(60))), "client to server differs");
        Assert.True(down.AsSpan().SequenceEqual(net.Run(clientReads, Duration.FromSeconds(60))), "server to client differs");
        net.Run(Task.WhenAll(clientWrites, serverWrites), Duration.FromSeconds(10));
    }

    [Fact]
    public void AsPipe_OutputCompleted_PeerSeesEndOfStreamAndCanStillSend()
    {
        var net = TcpNet.Create(22, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        var clientPipe = client.AsPipe(s_inline);

        // Half-close: completing our output is a FIN; the server reads to the end, then answers on its open side.
        var sent = WriteAllAsync(clientPipe.Output, "request"u8.ToArray(), 100);
        var request = net.Run(TcpNet.ReadToEnd(server, 7), Duration.FromSeconds(10));
        var reply = TcpNet.WriteAllAndClose(server, "reply"u8.ToArray());
        var answer = net.Run(ReadAllAsync(clientPipe.Input), Duration.FromSeconds(10));

        net.Run(Task.WhenAll(sent, reply), Duration.FromSeconds(10));
        Assert.Equal("request"u8.ToArray(), request);
        Assert.Equal("reply"u8.ToArray(), answer);
    }

    [Fact]
    public void AsPipe_OutputCompletedWithError_PeerIsReset()
    {
        var net = TcpNet.Create(23, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        var clientPipe = client.AsPipe(s_inline);

        clientPipe.Output.Complete(new InvalidOperationException("the app gave up"));
        var read = server.ReadAsync(new byte[16]).AsTask();
        net.Network.RunUntil(() => read.IsCompleted, Duration.FromSeconds(10));

        var error = Assert.ThrowsAny<NetworkException>(() => read.GetAwaiter().GetResult());
        Assert.Equal(NetworkError.ConnectionReset, error.Error);
    }

    [Fact]
    public void AsPipe_PeerResets_InputFailsWithNetworkException()
    {
        var net = TcpNet.Create(24, s_lan);
        var (client, server) = net.Connect(net.B.Tcp.Listen(80));
        var clientPipe = client.AsPipe(s_inline);
        var reading = ReadAllAsync(clientPipe.Input);

        server.Abort();
        net.Network.RunUntil(() => reading.IsCompleted, Duration.FromSeconds(10));

        Assert.True(reading.IsFaulted);
        Assert.IsType<NetworkException>(reading.Exception!.InnerException);
    }
}
