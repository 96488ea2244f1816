using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net;
using Unisharp.Net.Tests;

namespace Unisharp.AspNetCore.Tests;

/// <summary>
/// A Kestrel app served by <see cref="UnisharpWebHostBuilderExtensions.UseUnisharp(IWebHostBuilder, IStack, Logger?, Action{UnisharpTransportOptions}?)"/>
/// on one direct stack, and a client stack on the other end of an in-memory cable.
/// </summary>
internal sealed class KestrelOverStack : IAsyncDisposable
{
    public const ushort Port = 8080;

    /// <summary>An endpoint of HTTP/2 alone (h2c with prior knowledge).</summary>
    public const ushort Http2Port = 8081;

    private KestrelOverStack(DirectStack client, DirectStack server, WebApplication app)
    {
        Client = client;
        Server = server;
        App = app;
    }

    public DirectStack Client { get; }

    public DirectStack Server { get; }

    public WebApplication App { get; }

    public Ipv4Endpoint Endpoint => new(Server.Address, Port);

    /// <param name="inline">
    /// The server as examples/aspnet runs it: TCP continuations on the stack's I/O thread and Kestrel's code inline
    /// (<see cref="UnisharpTransportOptions.UnsafePreferInlineScheduling"/>), so Kestrel runs on the I/O thread.
    /// </param>
    public static async Task<KestrelOverStack> StartAsync(Action<WebApplication> map, Action<UnisharpTransportOptions>? transport = null, bool inline = false)
    {
        var (clientDevice, serverDevice) = PipeDevice.CreatePair(MacAddress.Parse("02:00:00:00:15:0a"), MacAddress.Parse("02:00:00:00:15:0b"));
        var client = Start(clientDevice, "198.18.15.1/24", null);
        var server = Start(serverDevice, "198.18.15.2/24", inline ? new TcpOptions { InlineContinuations = true } : null);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUnisharp(server, configure: t =>
        {
            t.UnsafePreferInlineScheduling = inline;
            transport?.Invoke(t);
        });
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Any, Port);
            k.Listen(IPAddress.Any, Http2Port, listen => listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
        });
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return new KestrelOverStack(client, server, app);
    }

    private static DirectStack Start(PipeDevice device, string cidr, TcpOptions? tcp) => DirectStack.Start(new StackOptions
    {
        Tcp = tcp,
        Device = device,
        Clock = new SystemClock(),
        Entropy = new SystemEntropy(),
        Ip = new IpConfiguration(Ipv4Cidr.Parse(cidr), null, false),
        Log = new Logger(Unisharp.Logging.LogLevel.Quiet),
    });

    public ValueTask<ITcpConnection> ConnectAsync(CancellationToken cancellationToken, ushort port = Port) =>
        Client.Tcp.ConnectAsync(new Ipv4Endpoint(Server.Address, port), cancellationToken);

    /// <summary>Reads one HTTP/1.1 response with a Content-Length: its head and its body.</summary>
    public static async Task<(string Head, byte[] Body)> ReadResponseAsync(Stream stream, CancellationToken cancellationToken)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0)
            {
                throw new EndOfStreamException("closed in the middle of a response head: " + head);
            }
            head.Append((char)one[0]);
        }
        string text = head.ToString();
        long length = 0;
        foreach (string line in text.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                length = long.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        var body = new byte[length];
        await stream.ReadExactlyAsync(body, cancellationToken);
        return (text, body);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
