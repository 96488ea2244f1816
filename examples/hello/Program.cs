using Unisharp;
using Unisharp.Hosting;

var builder = Unikernel.CreateBuilder(args, "hello");
var count = builder.Argument(BootArgument.Int("count", 4, "How many times to say hello.", min: 0, max: 1000));
var interval = builder.Argument(BootArgument.Int("interval-ms", 1000, "Milliseconds between two lines.", min: 0, max: 60_000));

return builder.Run(async ctx =>
{
    int n = ctx.Get(count);
    for (int i = 0; i < n; i++)
    {
        ctx.Console.WriteLine("Hello");
        if (i + 1 < n)
        {
            await ctx.Clock.SleepAsync(Duration.FromMilliseconds(ctx.Get(interval)), ctx.Stopping);
        }
    }
});
