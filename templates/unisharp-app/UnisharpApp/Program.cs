using Unisharp.Hosting;
using Unisharp.Net;
using UnisharpApp;

// Boot arguments are typed and come after `--` (unix) or on the kernel command line (microVMs);
// `--help` lists them with the device options of the target the app was built for.
var builder = Unikernel.CreateBuilder(args, "UnisharpApp").UseStack();
var port = builder.Argument(BootArgument.Port("port", 8080, "The TCP port to greet on."));
var name = builder.Argument(BootArgument.String("name", "world", "Who the greeting is for."));

return builder.Run(async ctx =>
{
    await using var listener = ctx.Stack.Tcp.Listen(ctx.Get(port));
    ctx.Log.Info("app", $"greeting on {listener.LocalEndpoint}");
    while (!ctx.Stopping.IsCancellationRequested)
    {
        ITcpConnection connection;
        try
        {
            connection = await listener.AcceptAsync(ctx.Stopping);
        }
        catch (OperationCanceledException)
        {
            break;
        }
        await using (connection)
        {
            byte[] reply = Greeter.Greet(ctx.Get(name), connection.RemoteEndpoint.ToString());
            await connection.WriteAsync(reply, ctx.Stopping);
            await connection.ShutdownWriteAsync(ctx.Stopping);
        }
    }
    return 0;
});
