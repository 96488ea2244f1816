using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Unisharp.Net;

namespace Unisharp.AspNetCore.Tests;

/// <summary>Kestrel's HTTP/1.1 on our TCP in-process, through the transport only (no sockets, no namespaces).</summary>
public sealed class TransportTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private static void Map(WebApplication app)
    {
        app.MapGet("/ip", async (HttpContext context) =>
        {
            byte[] text = Encoding.ASCII.GetBytes($"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort} {context.Connection.LocalIpAddress}:{context.Connection.LocalPort}");
            context.Response.ContentLength = text.Length;
            await context.Response.Body.WriteAsync(text, context.RequestAborted);
        });
        app.MapPost("/echo", async (HttpContext context) =>
        {
            context.Response.ContentLength = context.Request.ContentLength;
            await context.Request.Body.CopyToAsync(context.Response.Body, context.RequestAborted);
        });
        app.MapGet("/slow", async (HttpContext context) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                s_aborted.TrySetResult();
            }
        });
    }

    private static TaskCompletionSource s_aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Get_KeepAlive_TwoResponsesOnOneConnectionWithEndpoints(bool inline)
    {
        using var cancel = new CancellationTokenSource(s_timeout);
        await using var web = await KestrelOverStack.StartAsync(Map, inline: inline);
        await using var tcp = await web.ConnectAsync(cancel.Token);
        var stream = tcp.GetStream();

        for (int i = 0; i < 2; i++)
        {
            await stream.WriteAsync("GET /ip HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), cancel.Token);
            var (head, body) = await KestrelOverStack.ReadResponseAsync(stream, cancel.Token);
            Assert.StartsWith("HTTP/1.1 200 OK\r\n", head);
            Assert.Equal($"{tcp.LocalEndpoint} {web.Endpoint}", Encoding.ASCII.GetString(body));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Post_FourMebibytes_EchoedByteExactThroughBothPipes(bool inline)
    {
        using var cancel = new CancellationTokenSource(s_timeout);
        // Small pipes, so both directions have to wait on the other side (backpressure, not buffering).
        await using var web = await KestrelOverStack.StartAsync(Map, t => { t.MaxReadBufferSize = 16 * 1024; t.MaxWriteBufferSize = 16 * 1024; }, inline);
        await using var tcp = await web.ConnectAsync(cancel.Token);
        var stream = tcp.GetStream();
        byte[] data = new byte[4 << 20];
        new Random(15).NextBytes(data);

        var sending = Task.Run(async () =>
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {data.Length}\r\n\r\n"), cancel.Token);
            await stream.WriteAsync(data, cancel.Token);
        });
        var (head, body) = await KestrelOverStack.ReadResponseAsync(stream, cancel.Token);
        await sending;

        Assert.StartsWith("HTTP/1.1 200 OK\r\n", head);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(body));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ConnectionClose_ResponseThenFin_ReadEndsAtZero(bool inline)
    {
        using var cancel = new CancellationTokenSource(s_timeout);
        await using var web = await KestrelOverStack.StartAsync(Map, inline: inline);
        await using var tcp = await web.ConnectAsync(cancel.Token);
        var stream = tcp.GetStream();

        await stream.WriteAsync("GET /ip HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray(), cancel.Token);
        var (head, _) = await KestrelOverStack.ReadResponseAsync(stream, cancel.Token);

        Assert.Contains("Connection: close", head);
        Assert.Equal(0, await stream.ReadAsync(new byte[16], cancel.Token));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClientReset_DuringRequest_RequestAbortedFires(bool inline)
    {
        s_aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cancel = new CancellationTokenSource(s_timeout);
        await using var web = await KestrelOverStack.StartAsync(Map, inline: inline);
        var tcp = await web.ConnectAsync(cancel.Token);

        await tcp.WriteAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), cancel.Token);
        await Task.Delay(200, cancel.Token);
        tcp.Abort();
        await tcp.DisposeAsync();

        await s_aborted.Task.WaitAsync(cancel.Token);
    }

    [Fact]
    public async Task Http2_PriorKnowledgeGet_SettingsThenStatus200()
    {
        using var cancel = new CancellationTokenSource(s_timeout);
        await using var web = await KestrelOverStack.StartAsync(Map);
        await using var tcp = await web.ConnectAsync(cancel.Token, KestrelOverStack.Http2Port);
        var stream = tcp.GetStream();

        // RFC 9113 §3.4 preface, an empty SETTINGS, then HEADERS on stream 1 (END_STREAM | END_HEADERS): GET http /ip
        // with HPACK static-table indexes (:method GET 0x82, :scheme http 0x86, :path / 0x84) and :authority x literal.
        byte[] request = [.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, 0, 0, 0, 4, 0, 0, 0, 0, 0,
            0, 0, 10, 1, 5, 0, 0, 0, 1, 0x82, 0x86, 0x04, 0x03, (byte)'/', (byte)'i', (byte)'p', 0x41, 0x01, (byte)'x'];
        await stream.WriteAsync(request, cancel.Token);

        var header = new byte[9];
        var types = new List<(int Type, int Stream, byte First)>();
        while (!types.Exists(t => t.Type == 1 && t.Stream == 1))
        {
            await stream.ReadExactlyAsync(header, cancel.Token);
            int length = header[0] << 16 | header[1] << 8 | header[2];
            var payload = new byte[length];
            await stream.ReadExactlyAsync(payload, cancel.Token);
            types.Add((header[3], (int)(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7FFF_FFFF), length > 0 ? payload[0] : (byte)0));
        }

        Assert.Equal(4, types[0].Type); // the server's SETTINGS first
        Assert.Equal(0x88, types.Find(t => t.Type == 1 && t.Stream == 1).First); // :status 200, static index 8
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Stop_IdleKeepAliveConnection_ClosedAndStopCompletes(bool inline)
    {
        using var cancel = new CancellationTokenSource(s_timeout);
        await using var web = await KestrelOverStack.StartAsync(Map, inline: inline);
        await using var tcp = await web.ConnectAsync(cancel.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync("GET /ip HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray(), cancel.Token);
        await KestrelOverStack.ReadResponseAsync(stream, cancel.Token);

        await web.App.StopAsync(cancel.Token);

        // Kestrel closes idle connections at shutdown: our side sees the end of the stream.
        Assert.Equal(0, await stream.ReadAsync(new byte[16], cancel.Token));
        await Assert.ThrowsAnyAsync<NetworkException>(async () => await web.ConnectAsync(cancel.Token));
    }
}
