using Unisharp.Hosting;
using Unisharp.Net;

var builder = Unikernel.CreateBuilder(args, "echo").UseStack();
var port = builder.Argument(BootArgument.Port("port", 7, "The TCP and UDP port to echo on."));
var tcp = builder.Argument(BootArgument.Bool("tcp", true, "Echo TCP connections."));
var udp = builder.Argument(BootArgument.Bool("udp", true, "Echo UDP datagrams."));
var connections = builder.Argument(BootArgument.Int("connections", 0, "Exit once this many TCP connections have been echoed (0: never).", min: 0));

return builder.Run(async ctx =>
{
    ushort p = ctx.Get(port);
    var tasks = new List<Task>();
    if (ctx.Get(tcp))
    {
        tasks.Add(AcceptLoop(ctx, p, ctx.Get(connections)));
    }
    if (ctx.Get(udp))
    {
        tasks.Add(UdpLoop(ctx, p));
    }
    if (tasks.Count == 0)
    {
        ctx.Log.Error("echo", "nothing to echo: --tcp and --udp are both false");
        return 2;
    }
    await await Task.WhenAny(tasks);
    return 0;
});

static async Task AcceptLoop(UnikernelContext ctx, ushort port, int limit)
{
    await using var listener = ctx.Stack.Tcp.Listen(port);
    ctx.Log.Info("echo", $"echoing TCP on {listener.LocalEndpoint}");
    for (int accepted = 1; ; accepted++)
    {
        var connection = await listener.AcceptAsync(ctx.Stopping);
        if (accepted == limit)
        {
            // Echo closes with a lingering close: everything echoed has been acknowledged when it returns.
            await Echo(ctx, connection);
            ctx.Log.Info("echo", $"echoed {limit} connection(s): exiting");
            return;
        }
        _ = Echo(ctx, connection);
    }
}

static async Task Echo(UnikernelContext ctx, ITcpConnection connection)
{
    var remote = connection.RemoteEndpoint;
    ctx.Log.Debug("echo", $"connection from {remote}");
    byte[] buffer = new byte[16 * 1024];
    long total = 0;
    bool delivered = false;
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
            // Our FIN after the echoed bytes, and a wait until the peer has acknowledged all of it.
            delivered = await connection.CloseAsync(TimeSpan.FromSeconds(10), ctx.Stopping);
        }
    }
    catch (Exception e) when (e is NetworkException or OperationCanceledException)
    {
        ctx.Log.Debug("echo", $"{remote}: {e.Message}");
    }
    ctx.Log.Info("echo", delivered
        ? $"{remote}: echoed {total} bytes"
        : $"{remote}: echoed {total} bytes, not all of them acknowledged");
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
