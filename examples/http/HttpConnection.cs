using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Unisharp.Hosting;
using Unisharp.Net;

/// <summary>
/// Serves the requests of one connection in order: keep-alive by default on HTTP/1.1 (until <c>Connection: close</c>),
/// on HTTP/1.0 only when asked with <c>Connection: keep-alive</c> (and then said so in the answer, RFC 9112 §9.3 and
/// appendix C.2.2), pipelined requests answered one after another, and a 400 (then close) for anything malformed.
/// </summary>
internal sealed class HttpConnection(UnikernelContext ctx, ITcpConnection connection)
{
    /// <summary>The longest request head accepted; a longer one is answered with 431.</summary>
    private const int MaxHead = 8 * 1024;
    private const int ChunkSize = 64 * 1024;
    private const long MaxBytes = 1L << 40;

    private static readonly byte[] s_page = Encoding.ASCII.GetBytes(
        "<!DOCTYPE html>\n<html><head><title>Unisharp</title></head>\n<body><h1>Hello from Unisharp</h1>\n" +
        "<p>A unikernel in C# serving HTTP on its own TCP/IP stack. Try <a href=\"/bytes/1024\">/bytes/1024</a>.</p></body></html>\n");

    private readonly byte[] _buffer = new byte[MaxHead];
    /// <summary>Where each answer is built, so it goes out in one write.</summary>
    private byte[] _response = new byte[1024];
    private int _start;
    private int _end;

    /// <summary>The version of the request being answered: an HTTP/1.0 client keeps the connection only when told.</summary>
    private bool _http11 = true;

    public async Task ServeAsync()
    {
        var remote = connection.RemoteEndpoint;
        try
        {
            await using (connection)
            {
                while (await ServeOneAsync(remote))
                {
                }
            }
        }
        catch (Exception e) when (e is NetworkException or OperationCanceledException)
        {
            ctx.Log.Debug("http", $"{remote}: {e.Message}");
        }
    }

    /// <summary>Reads one request and answers it; false when the connection is to be closed.</summary>
    private async Task<bool> ServeOneAsync(Ipv4Endpoint remote)
    {
        int headLength;
        while ((headLength = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (_start > 0)
            {
                // Move what is left of the last read to the front, so a head can use the whole buffer.
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length)
            {
                await RespondAsync(remote, "-", "-", 431, "Request Header Fields Too Large", "text/plain", "request head too large\n"u8.ToArray(), keepAlive: false);
                await LingerAsync();
                return false;
            }
            int n = await connection.ReadAsync(_buffer.AsMemory(_end), ctx.Stopping);
            if (n == 0)
            {
                if (_end > _start)
                {
                    ctx.Log.Info("http", $"{remote}: closed in the middle of a request head ({_end - _start} bytes)");
                }
                return false;
            }
            _end += n;
        }

        var request = HttpRequest.TryParse(_buffer.AsSpan(_start, headLength));
        _start += headLength + 4;
        _http11 = request?.Http11 ?? true;
        if (request is null)
        {
            await RespondAsync(remote, "-", "-", 400, "Bad Request", "text/plain", "malformed request\n"u8.ToArray(), keepAlive: false);
            await LingerAsync();
            return false;
        }
        if (request.Chunked)
        {
            await RespondAsync(remote, request.Method, request.Target, 501, "Not Implemented", "text/plain", "chunked request bodies are not supported\n"u8.ToArray(), keepAlive: false);
            await LingerAsync();
            return false;
        }
        if (!await DiscardBodyAsync(request.ContentLength))
        {
            return false;
        }

        bool head = request.Method == "HEAD";
        if (request.Method is not ("GET" or "HEAD"))
        {
            await RespondAsync(remote, request.Method, request.Target, 405, "Method Not Allowed", "text/plain", "only GET and HEAD\n"u8.ToArray(), request.KeepAlive, "Allow: GET, HEAD\r\n");
        }
        else if (request.Target == "/")
        {
            await RespondAsync(remote, request.Method, request.Target, 200, "OK", "text/html; charset=us-ascii", s_page, request.KeepAlive, omitBody: head);
        }
        else if (request.Target.StartsWith("/bytes/", StringComparison.Ordinal)
            && Utf8Parser.TryParse(Encoding.ASCII.GetBytes(request.Target[7..]), out long count, out int used) && used == request.Target.Length - 7
            && count >= 0 && count <= MaxBytes)
        {
            await SendPatternAsync(remote, request, count, head);
        }
        else
        {
            await RespondAsync(remote, request.Method, request.Target, 404, "Not Found", "text/plain", "not found\n"u8.ToArray(), request.KeepAlive, omitBody: head);
        }
        return request.KeepAlive;
    }

    /// <summary>
    /// After an error answer, reads and drops what the client still sends (up to 1 MiB, 2 s) before closing:
    /// closing with unread data would reset the connection and could destroy the answer before the client reads it.
    /// </summary>
    private async Task LingerAsync()
    {
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(ctx.Stopping);
        linger.CancelAfter(TimeSpan.FromSeconds(2));
        long drained = 0;
        try
        {
            int n;
            while (drained < 1 << 20 && (n = await connection.ReadAsync(_buffer, linger.Token)) > 0)
            {
                drained += n;
            }
        }
        catch (OperationCanceledException) when (!ctx.Stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>Skips a request body we have no use for; false if the peer closed before it ended.</summary>
    private async Task<bool> DiscardBodyAsync(long length)
    {
        long inBuffer = Math.Min(length, _end - _start);
        _start += (int)inBuffer;
        length -= inBuffer;
        while (length > 0)
        {
            int n = await connection.ReadAsync(_buffer.AsMemory(0, (int)Math.Min(length, _buffer.Length)), ctx.Stopping);
            if (n == 0)
            {
                return false;
            }
            length -= n;
        }
        if (_start == _end)
        {
            _start = _end = 0;
        }
        return true;
    }

    private async Task SendPatternAsync(Ipv4Endpoint remote, HttpRequest request, long count, bool head)
    {
        int headLength = WriteHeader(200, "OK", "application/octet-stream", count, request.KeepAlive, "");
        await connection.WriteAsync(_response.AsMemory(0, headLength), ctx.Stopping);
        if (!head)
        {
            byte[] chunk = new byte[ChunkSize];
            for (long offset = 0; offset < count; offset += ChunkSize)
            {
                int n = (int)Math.Min(ChunkSize, count - offset);
                BytePattern.Fill(chunk.AsSpan(0, n), offset, seed: 0);
                await connection.WriteAsync(chunk.AsMemory(0, n), ctx.Stopping);
            }
        }
        Log(remote, request.Method, request.Target, 200, count);
    }

    private async Task RespondAsync(Ipv4Endpoint remote, string method, string target, int status, string reason, string contentType, byte[] body,
        bool keepAlive, string extraHeaders = "", bool omitBody = false)
    {
        // Head and body in one write: one segment for a small answer, so no small head waits for its ACK (Nagle).
        int length = WriteHeader(status, reason, contentType, body.Length, keepAlive, extraHeaders);
        if (!omitBody)
        {
            EnsureResponseRoom(length + body.Length);
            body.CopyTo(_response.AsSpan(length));
            length += body.Length;
        }
        await connection.WriteAsync(_response.AsMemory(0, length), ctx.Stopping);
        if (!keepAlive)
        {
            await connection.ShutdownWriteAsync(ctx.Stopping);
        }
        Log(remote, method, target, status, body.Length);
    }

    /// <summary>Writes a response head into <see cref="_response"/>; returns its length.</summary>
    private int WriteHeader(int status, string reason, string contentType, long length, bool keepAlive, string extraHeaders)
    {
        string connectionField = !keepAlive ? "Connection: close\r\n" : _http11 ? "" : "Connection: keep-alive\r\n";
        while (true)
        {
            if (Utf8.TryWrite(_response, CultureInfo.InvariantCulture,
                $"HTTP/1.1 {status} {reason}\r\nServer: unisharp-http\r\nContent-Type: {contentType}\r\nContent-Length: {length}\r\n{extraHeaders}{connectionField}\r\n",
                out int written))
            {
                return written;
            }
            EnsureResponseRoom(_response.Length * 2);
        }
    }

    private void EnsureResponseRoom(int length)
    {
        if (_response.Length < length)
        {
            Array.Resize(ref _response, Math.Max(length, _response.Length * 2));
        }
    }

    private void Log(Ipv4Endpoint remote, string method, string target, int status, long length) =>
        ctx.Log.Info("http", $"{remote} {method} {target} {status} {length}");
}
