using Unisharp.Hosting;
using Unisharp.Net;

// Nothing here blocks between awaits, so on our stack the handlers may run on its I/O thread (no thread hop per request).
var builder = Unikernel.CreateBuilder(args, "http").UseStack(new TcpOptions { InlineContinuations = true });
var port = builder.Argument(BootArgument.Port("port", 80, "The TCP port to serve HTTP on."));

return builder.Run(async ctx =>
{
    await using var listener = ctx.Stack.Tcp.Listen(ctx.Get(port));
    ctx.Log.Info("http", $"serving HTTP on {listener.LocalEndpoint}");
    while (true)
    {
        var connection = await listener.AcceptAsync(ctx.Stopping);
        _ = new HttpConnection(ctx, connection).ServeAsync();
    }
});
