using Unisharp;
using Unisharp.Hosting;
using Unisharp.Net;

var builder = Unikernel.CreateBuilder(args, "tcp-transfer").UseStack();
var connect = builder.Argument(BootArgument.Optional<Ipv4Endpoint>("connect", "Connect to this server and exit after one transfer, rather than listen.", "A.B.C.D:PORT"));
var port = builder.Argument(BootArgument.Port("port", 5001, "The TCP port to listen on when not connecting."));
var send = builder.Argument(BootArgument.Long("send", 0, "Bytes of the seeded pattern to send on each connection.", min: 0));
var seed = builder.Argument(BootArgument.Long("seed", 0, "Seed of the pattern."));
var linger = builder.Argument(BootArgument.Int("linger-ms", 1000, "After a client's transfer, how long to keep the stack running so the last FIN and ACKs leave.", min: 0));

// Each connection sends --send bytes of the pattern and reads until the peer closes, hashing what it reads.
// It closes its sending side once it has sent everything; with nothing to send it waits for the peer to close
// first, so a peer that ends on our FIN (nc -l) still gets to send all it has.
return builder.Run(async ctx =>
{
    var options = new Transfer(ctx, ctx.Get(send), (ulong)ctx.Get(seed));
    if (ctx.Get(connect) is { } server)
    {
        ctx.Log.Info("tcp-transfer", $"connecting to {server}");
        bool ok;
        try
        {
            ok = await options.RunAsync(await ctx.Stack.Tcp.ConnectAsync(server, ctx.Stopping));
        }
        catch (NetworkException e)
        {
            ctx.Log.Error("tcp-transfer", e.Message);
            return 1;
        }
        // The stack has no "wait until closed" yet: give the last segments time to leave before the process ends.
        await Task.Delay(ctx.Get(linger), ctx.Stopping);
        return ok ? 0 : 1;
    }
    await using var listener = ctx.Stack.Tcp.Listen(ctx.Get(port));
    ctx.Log.Info("tcp-transfer", $"listening on {listener.LocalEndpoint}");
    while (true)
    {
        var connection = await listener.AcceptAsync(ctx.Stopping);
        _ = options.RunAsync(connection);
    }
});
