using System.Buffers;
using Unisharp;
using Unisharp.Hosting;
using Unisharp.Net;

var builder = Unikernel.CreateBuilder(args, "network").UseStack(new TcpOptions { InlineContinuations = true });
var port = builder.Argument(BootArgument.Port("port", 8080, "The TCP port to receive on."));
var send = builder.Argument(BootArgument.Long("send", 0, "Send this many bytes of zeros on each connection instead of reading (the sender direction), then close.", min: 0));

return builder.Run(async ctx =>
{
    await using var listener = ctx.Stack.Tcp.Listen(ctx.Get(port));
    ctx.Log.Info("network", $"sink listening on {listener.LocalEndpoint}");
    LogAllocations(ctx);
    try
    {
        while (true)
        {
            var connection = await listener.AcceptAsync(ctx.Stopping);
            _ = ctx.Get(send) > 0 ? Source(ctx, connection, ctx.Get(send)) : Sink(ctx, connection);
        }
    }
    finally
    {
        LogAllocations(ctx);
    }
});

// For the benchmark's allocations per segment: every byte the process has allocated, and the stack's TCP segments.
static void LogAllocations(UnikernelContext ctx)
{
    long allocated = GC.GetTotalAllocatedBytes(precise: true);
    var segments = ctx.Stack.TcpSegments;
    ctx.Log.Info("network", segments is { } s
        ? $"allocated {allocated} bytes, {s.Received + s.Sent} segments ({s.Received} received, {s.Sent} sent)"
        : $"allocated {allocated} bytes (the stack does not count segments)");
}

// Reads and discards everything a client sends; logs the running total every second and the rate at EOF.
static async Task Sink(UnikernelContext ctx, ITcpConnection connection)
{
    var remote = connection.RemoteEndpoint;
    // Pooled, so a connection allocates (almost) nothing: the benchmark counts allocations per segment.
    byte[] buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
    long total = 0;
    Instant started = ctx.Clock.Now;
    Instant nextReport = started + Duration.FromSeconds(1);
    try
    {
        await using (connection)
        {
            int n;
            while ((n = await connection.ReadAsync(buffer, ctx.Stopping)) > 0)
            {
                total += n;
                Instant now = ctx.Clock.Now;
                if (now >= nextReport)
                {
                    ctx.Log.Info("network", $"{remote}: read {total} bytes in {(now - started).TotalMilliseconds} ms");
                    nextReport = now + Duration.FromSeconds(1);
                }
            }
        }
    }
    catch (Exception e) when (e is NetworkException or OperationCanceledException)
    {
        ctx.Log.Warning("network", $"{remote}: {e.Message}");
    }
    ArrayPool<byte>.Shared.Return(buffer);
    LogTotal(ctx, remote, "read", total, started);
}

// Sends the bytes from one pooled buffer of zeros, closes its side, then waits for the client to close (so the last
// bytes have arrived); logs the rate.
static async Task Source(UnikernelContext ctx, ITcpConnection connection, long bytes)
{
    var remote = connection.RemoteEndpoint;
    byte[] buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
    Array.Clear(buffer);
    long sent = 0;
    Instant started = ctx.Clock.Now;
    try
    {
        await using (connection)
        {
            while (sent < bytes)
            {
                int n = (int)Math.Min(buffer.Length, bytes - sent);
                await connection.WriteAsync(buffer.AsMemory(0, n), ctx.Stopping);
                sent += n;
            }
            await connection.ShutdownWriteAsync(ctx.Stopping);
            while (await connection.ReadAsync(buffer, ctx.Stopping) > 0)
            {
            }
        }
    }
    catch (Exception e) when (e is NetworkException or OperationCanceledException)
    {
        ctx.Log.Warning("network", $"{remote}: {e.Message}");
    }
    ArrayPool<byte>.Shared.Return(buffer);
    LogTotal(ctx, remote, "sent", sent, started);
}

// A connection's end: "read|sent N bytes in M ms (R MB/s)" (the bench checks its counts against this line).
static void LogTotal(UnikernelContext ctx, Ipv4Endpoint remote, string verb, long bytes, Instant started)
{
    var elapsed = ctx.Clock.Now - started;
    double mbPerSecond = elapsed.Microseconds > 0 ? bytes / (double)elapsed.Microseconds : 0;
    ctx.Log.Info("network", $"{remote}: {verb} {bytes} bytes in {elapsed.TotalMilliseconds} ms ({mbPerSecond:F1} MB/s)");
    LogAllocations(ctx);
}
