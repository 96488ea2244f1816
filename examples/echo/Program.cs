using Unisharp.Hosting;
using Unisharp.Net;

var builder = Unikernel.CreateBuilder(args, "echo").UseStack();
var port = builder.Argument(BootArgument.Port("port", 7, "The TCP and UDP port to echo on."));
var udp = builder.Argument(BootArgument.Bool("udp", true, "Also echo UDP datagrams on the same port."));

return builder.Run(async ctx =>
{
    ushort p = ctx.Get(port);
    await using var listener = ctx.Stack.Tcp.Listen(p);
    ctx.Log.Info("echo", $"echoing TCP on {listener.LocalEndpoint}");
    var tasks = new List<Task> { AcceptLoop(ctx, listener) };
    if (ctx.Get(udp))
    {
        tasks.Add(UdpLoop(ctx, p));
    }
    await await Task.WhenAny(tasks);
});

static async Task AcceptLoop(UnikernelContext ctx, ITcpListener listener)
{
    while (true)
    {
        var connection = await listener.AcceptAsync(ctx.Stopping);
        _ = Echo(ctx, connection);
    }
}

static async Task Echo(UnikernelContext ctx, ITcpConnection connection)
{
    var remote = connection.RemoteEndpoint;
    ctx.Log.Debug("echo", $"connection from {remote}");
    byte[] buffer = new byte[16 * 1024];
    long total = 0;
    try
    {
        await using (connection)
        {
            int n;
            while ((n = await connection.ReadAsync(buffer, ctx.Stopping)) > 0)
            {
                await connection.WriteAsync(buffer.AsMemory(0, n), ctx.Stopping);
                total += n;
            }
            await connection.ShutdownWriteAsync(ctx.Stopping);
        }
    }
    catch (Exception e) when (e is NetworkException or OperationCanceledException)
    {
        ctx.Log.Debug("echo", $"{remote}: {e.Message}");
    }
    ctx.Log.Info("echo", $"{remote}: echoed {total} bytes");
}

static async Task UdpLoop(UnikernelContext ctx, ushort port)
{
    await using var socket = ctx.Stack.Udp.Bind(port);
    ctx.Log.Info("echo", $"echoing UDP on {socket.LocalEndpoint}");
    byte[] buffer = new byte[65536];
    while (true)
    {
        var received = await socket.ReceiveAsync(buffer, ctx.Stopping);
        await socket.SendAsync(buffer.AsMemory(0, received.Length), received.Remote, ctx.Stopping);
    }
}
