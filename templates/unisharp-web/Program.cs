using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Unisharp.AspNetCore;
using Unisharp.Hosting;
using UnisharpWeb;

// Boot arguments are typed and come after `--` (unix) or on the kernel command line (microVMs);
// `--help` lists them with the device options of the target the app was built for.
var unikernel = Unikernel.CreateBuilder(args, "UnisharpWeb").UseStack();
var port = unikernel.Argument(BootArgument.Port("port", 8080, "The TCP port to serve HTTP on."));

return unikernel.Run(async ctx =>
{
    // No args: the command line holds the unikernel's boot arguments, not ASP.NET Core's configuration.
    var builder = WebApplication.CreateSlimBuilder();
    // Kestrel on the unikernel's stack; it stops with the unikernel, requests in flight given its grace period.
    builder.WebHost.UseUnisharp(ctx);
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Any, ctx.Get(port)));
    builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    // JSON through source generation: NativeAOT has no reflection-based serializer.
    builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, AppJsonContext.Default));

    var app = builder.Build();
    app.MapGet("/", () => "Hello from UnisharpWeb: ASP.NET Core on Unisharp\n");
    app.MapGet("/api/greeting/{name}", (string name, HttpContext http) =>
        new Greeting($"Hello, {name}!", http.Connection.RemoteIpAddress?.ToString() ?? "unknown"));
    app.MapGet("/healthz", () => "ok\n");

    ctx.Log.Info("app", $"serving HTTP on port {ctx.Get(port)}");
    await app.RunAsync();
});
