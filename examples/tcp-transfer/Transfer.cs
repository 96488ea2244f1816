using System.Security.Cryptography;
using Unisharp;
using Unisharp.Hosting;
using Unisharp.Net;

/// <summary>One transfer's settings, and the transfer itself.</summary>
internal sealed class Transfer(UnikernelContext ctx, long sendBytes, ulong seed)
{
    private const int ChunkSize = 256 * 1024;

    public async Task<bool> RunAsync(ITcpConnection connection)
    {
        var remote = connection.RemoteEndpoint;
        ctx.Log.Info("tcp-transfer", $"{remote}: connected");
        var receivedEof = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (connection)
        {
            try
            {
                await Task.WhenAll(SendAsync(connection, remote, receivedEof.Task), ReceiveAsync(connection, remote, receivedEof));
                return true;
            }
            catch (Exception e) when (e is NetworkException or OperationCanceledException)
            {
                ctx.Log.Error("tcp-transfer", $"{remote}: failed: {e.Message}");
                connection.Abort();
                return false;
            }
        }
    }

    private async Task SendAsync(ITcpConnection connection, Ipv4Endpoint remote, Task receivedEof)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] chunk = new byte[ChunkSize];
        Instant started = ctx.Clock.Now;
        for (long offset = 0; offset < sendBytes; offset += ChunkSize)
        {
            int n = (int)Math.Min(ChunkSize, sendBytes - offset);
            BytePattern.Fill(chunk.AsSpan(0, n), offset, seed);
            hash.AppendData(chunk, 0, n);
            await connection.WriteAsync(chunk.AsMemory(0, n), ctx.Stopping);
        }
        if (sendBytes == 0)
        {
            await receivedEof.WaitAsync(ctx.Stopping);
        }
        await connection.ShutdownWriteAsync(ctx.Stopping);
        ctx.Log.Info("tcp-transfer", $"{remote}: sent {sendBytes} bytes sha256 {Convert.ToHexStringLower(hash.GetHashAndReset())} {Rate(sendBytes, started)}");
    }

    private async Task ReceiveAsync(ITcpConnection connection, Ipv4Endpoint remote, TaskCompletionSource receivedEof)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[ChunkSize];
        Instant started = ctx.Clock.Now;
        long total = 0;
        int n;
        while ((n = await connection.ReadAsync(buffer, ctx.Stopping)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }
        receivedEof.TrySetResult();
        ctx.Log.Info("tcp-transfer", $"{remote}: received {total} bytes sha256 {Convert.ToHexStringLower(hash.GetHashAndReset())} {Rate(total, started)}");
    }

    private string Rate(long bytes, Instant started)
    {
        var elapsed = ctx.Clock.Now - started;
        double mbPerSecond = elapsed.Microseconds > 0 ? bytes / (double)elapsed.Microseconds : 0;
        return $"in {elapsed.TotalMilliseconds} ms ({mbPerSecond:F1} MB/s)";
    }
}
