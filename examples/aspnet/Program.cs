using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AspNetExample;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.FileProviders;
using Unisharp.AspNetCore;
using Unisharp.Hosting;
using Unisharp.Net;

// TCP continuations on the stack's I/O thread: the transport's pumps (which never block) move a request into Kestrel's
// pipe and a response out to TCP without a thread hop of their own. With UnsafePreferInlineScheduling (below) Kestrel's
// code and the handlers run there too, as Kestrel's socket transport does with its own switch: no hop per request
// (bench http: wrk 1.15x, ab -k 1.68x Linux against 0.86x and 1.40x without it). So no handler may block (synchronous
// waits or I/O, long computation): every connection would stall behind it.
var unikernel = Unikernel.CreateBuilder(args, "aspnet").UseStack(new TcpOptions { InlineContinuations = true });
var port = unikernel.Argument(BootArgument.Port("port", 80, "The TCP port to serve HTTP/1.1 on."));
// Kestrel speaks HTTP/2 without TLS (h2c, prior knowledge) only on an endpoint that speaks nothing else: on
// Http1AndHttp2 without TLS it falls back to HTTP/1.1, as there is no ALPN to choose with.
var h2cPort = unikernel.Argument(BootArgument.Port("h2c-port", 8080, "The TCP port to serve HTTP/2 over cleartext (h2c, prior knowledge) on."));
var certificate = unikernel.Argument(BootArgument.String("cert", "", "A PEM certificate file (the server's first, then its chain): serves HTTPS on --https-port."));
var key = unikernel.Argument(BootArgument.String("key", "", "The PEM file of the certificate's private key; by default it is in the --cert file."));
var httpsPort = unikernel.Argument(BootArgument.Port("https-port", 443, "The TCP port to serve HTTPS on (HTTP/1.1 and HTTP/2, chosen by ALPN) when --cert is given."));
var upstream = unikernel.Argument(BootArgument.String("upstream", "", "An http:// or https:// URL that GET /api/upstream fetches through HttpClient on our stack (its host resolved with --dns or DHCP's server)."));

return unikernel.Run(async ctx =>
{
    // No args: the command line holds the unikernel's boot arguments, not ASP.NET Core's configuration.
    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseUnisharp(ctx, transport => transport.UnsafePreferInlineScheduling = true);
    X509Certificate2? tls = null;
    if (ctx.Get(certificate) is { Length: > 0 } certificateFile)
    {
        tls = X509Certificate2.CreateFromPemFile(certificateFile, ctx.Get(key) is { Length: > 0 } keyFile ? keyFile : null);
        builder.WebHost.UseKestrelHttpsConfiguration();
    }
    builder.WebHost.ConfigureKestrel(kestrel =>
    {
        kestrel.Listen(IPAddress.Any, ctx.Get(port), listen => listen.Protocols = HttpProtocols.Http1);
        kestrel.Listen(IPAddress.Any, ctx.Get(h2cPort), listen => listen.Protocols = HttpProtocols.Http2);
        if (tls is not null)
        {
            kestrel.Listen(IPAddress.Any, ctx.Get(httpsPort), listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(tls);
            });
        }
        // A client that trickles its head (slowloris) is cut off after this; idle keep-alive connections too.
        kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(30);
        kestrel.Limits.MaxRequestBodySize = 64L << 20;
    });
    // Kestrel's warnings and the host's lifetime messages, not a line per request.
    builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, AppJsonContext.Default));

    var app = builder.Build();
    app.UseStaticFiles(new StaticFileOptions { FileProvider = new EmbeddedFileProvider(typeof(Item).Assembly, "wwwroot") });

    app.MapGet("/", () => Results.Content(Pages.Home, "text/html; charset=utf-8"));
    app.MapGet("/healthz", () => Results.Text("ok\n"));
    app.MapGet("/api/items", () => Pages.Items);
    // The process's resident memory and the machine's memory in use (in a microVM, the guest's), from /proc.
    app.MapGet("/api/memory", () => Results.Text($"rss {Environment.WorkingSet} gc-heap {GC.GetTotalMemory(false)} machine-used {MachineMemoryInUse()}\n"));
    app.MapGet("/api/whoami", (HttpContext http) => Results.Text($"{http.Connection.RemoteIpAddress}:{http.Connection.RemotePort} {http.Request.Protocol}\n"));
    app.MapPost("/api/echo", async (HttpContext http) =>
    {
        http.Response.ContentType = http.Request.ContentType ?? "application/octet-stream";
        if (http.Request.ContentLength is long length)
        {
            http.Response.ContentLength = length;
        }
        await http.Request.Body.CopyToAsync(http.Response.Body, http.RequestAborted);
    });
    app.MapGet("/bytes/{count:long}", async (long count, HttpContext http) =>
    {
        if (count is < 0 or > 1L << 40)
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        http.Response.ContentType = "application/octet-stream";
        http.Response.ContentLength = count;
        var body = http.Response.BodyWriter;
        for (long offset = 0; offset < count;)
        {
            int n = (int)Math.Min(64 * 1024, count - offset);
            BytePattern.Fill(body.GetSpan(n)[..n], offset, 0);
            body.Advance(n);
            offset += n;
            var flush = await body.FlushAsync(http.RequestAborted);
            if (flush.IsCanceled || flush.IsCompleted)
            {
                return;
            }
        }
    });

    // Another service called by name: HttpClient over our TCP, the name resolved by our DNS stub.
    var upstreamClient = ctx.CreateHttpClient();
    app.MapGet("/api/upstream", async (HttpContext http) =>
    {
        if (!Uri.TryCreate(ctx.Get(upstream), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return Results.Problem("no upstream: start the app with --upstream=http://HOST[:PORT]/PATH", statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        try
        {
            using var response = await upstreamClient.GetAsync(uri, http.RequestAborted);
            byte[] body = await response.Content.ReadAsByteArrayAsync(http.RequestAborted);
            return Results.Text($"{uri} {(int)response.StatusCode} {body.Length} bytes sha256 {Convert.ToHexStringLower(SHA256.HashData(body))}\n");
        }
        catch (Exception e) when (e is HttpRequestException or NetworkException)
        {
            return Results.Problem($"{uri}: {e.Message}", statusCode: StatusCodes.Status502BadGateway);
        }
    });

    // Said once Kestrel listens on every port, so whoever waits for this line can connect at once.
    await app.StartAsync();
    ctx.Log.Info("aspnet", $"serving HTTP/1.1 on port {ctx.Get(port)}, h2c on port {ctx.Get(h2cPort)}" +
        (tls is null ? "" : $", HTTPS on port {ctx.Get(httpsPort)} as {tls.Subject}"));
    await app.WaitForShutdownAsync();
});

// MemTotal less MemAvailable of /proc/meminfo, in bytes; -1 when it cannot be read.
static long MachineMemoryInUse()
{
    long total = -1, available = -1;
    try
    {
        foreach (string line in File.ReadLines("/proc/meminfo"))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 2 && long.TryParse(fields[1], out long kib))
            {
                if (fields[0] == "MemTotal:")
                {
                    total = kib * 1024;
                }
                else if (fields[0] == "MemAvailable:")
                {
                    available = kib * 1024;
                }
            }
        }
    }
    catch (IOException)
    {
    }
    return total < 0 || available < 0 ? -1 : total - available;
}

/// <summary>What the app serves that is fixed.</summary>
internal static class Pages
{
    public static readonly string Home =
        "<!DOCTYPE html>\n<html><head><title>Unisharp + ASP.NET Core</title><link rel=\"stylesheet\" href=\"/style.css\"></head>\n" +
        "<body><h1>Hello from ASP.NET Core on Unisharp</h1>\n" +
        "<p>Kestrel on the unikernel's own TCP/IP stack. Try <a href=\"/api/items\">/api/items</a>.</p></body></html>\n";

    public static readonly Item[] Items =
    [
        new(1, "Kestrel", 0m),
        new(2, "TCP/IP stack in C#", 0m),
        new(3, "NativeAOT", 0m),
    ];
}
