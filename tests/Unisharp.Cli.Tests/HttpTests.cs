using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>curl and nc against examples/http on our stack over a TAP device, in a namespace made for the test.</summary>
[Collection(CliCollection.Name)]
public sealed class HttpTests(BuiltExamples examples)
{
    private const string Tap = "ustap0";
    private const string Ours = "198.18.0.2";
    private const long Body = 10L << 20;

    [RequiresNamespacesFact]
    public void Curl_PageBytesAndNotFound_MalformedGets400AndServerStaysUp()
    {
        using var ns = NetworkNamespace.Create();
        using var app = StartOnTap(ns);

        var page = Curl(ns, "-sS", "--max-time", "20", $"http://{Ours}/");
        Assert.Contains("Hello from Unisharp", page.Stdout);

        string expected = TestPattern.Sha256(Body);
        var bytes = ns.Exec(TimeSpan.FromSeconds(90), "bash", "-c", $"set -o pipefail; curl -sS --fail --max-time 60 http://{Ours}/bytes/{Body} | sha256sum");
        Assert.True(bytes.ExitCode == 0, bytes.Stderr + app.Log);
        Assert.StartsWith(expected, bytes.Stdout);

        var missing = Curl(ns, "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}", $"http://{Ours}/missing");
        Assert.Equal("404", missing.Stdout);

        var head = Curl(ns, "-sS", "--max-time", "20", "-I", $"http://{Ours}/bytes/100");
        Assert.Contains("HTTP/1.1 200 OK", head.Stdout);
        Assert.Contains("Content-Length: 100", head.Stdout);

        // Two requests on one connection: keep-alive.
        var twice = Curl(ns, "-sSv", "--max-time", "20", "-o", "/dev/null", "-o", "/dev/null", $"http://{Ours}/", $"http://{Ours}/bytes/5");
        Assert.Contains("Re-using existing", twice.Stderr, StringComparison.OrdinalIgnoreCase);

        // Malformed requests get a 400 and the connection is closed; an oversized head gets a 431.
        Assert.StartsWith("HTTP/1.1 400 Bad Request", Raw(ns, @"GARBAGE\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 400 Bad Request", Raw(ns, @"GET / HTTP/1.1\r\nno colon here\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 400 Bad Request", Raw(ns, @"GET / HTTP/9.9\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 400 Bad Request", Raw(ns, @"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n"));
        var oversized = ns.Exec(TimeSpan.FromSeconds(30), "bash", "-c", $"head -c 20000 /dev/zero | tr '\\0' a | nc -N -w 5 {Ours} 80");
        Assert.StartsWith("HTTP/1.1 431", oversized.Stdout);
        // Pipelined: two requests in one write, two answers in order.
        string pipelined = Raw(ns, @"GET /bytes/3 HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nConnection: close\r\n\r\n");
        Assert.Matches(@"(?s)^HTTP/1.1 200 OK.*Content-Length: 3\r\n.*HTTP/1.1 404 Not Found", pipelined);

        // Still serving.
        Assert.False(app.HasExited, app.Log);
        Assert.Contains("Hello from Unisharp", Curl(ns, "-sS", "--max-time", "20", $"http://{Ours}/").Stdout);
        app.WaitForLog(@"GET /bytes/10485760 200 10485760", TimeSpan.FromSeconds(5));
    }

    [RequiresNamespacesFact]
    public void Persistence_OurStackOverTap_AbKeepAliveCompletesAndCloseRulesHold()
    {
        using var ns = NetworkNamespace.Create();
        using var app = StartOnTap(ns);
        AssertPersistence(ns, Ours, app);
    }

    [RequiresNamespacesFact]
    public void Persistence_LinuxSockets_AbKeepAliveCompletesAndCloseRulesHold()
    {
        using var ns = NetworkNamespace.Create();
        using var app = PeerApp.Start(ns, examples.Executable("http"), "--net=socket");
        app.WaitForLog("serving HTTP on", TimeSpan.FromSeconds(30));
        AssertPersistence(ns, "127.0.0.1", app);
    }

    /// <summary>
    /// HTTP/1.0 with <c>Connection: keep-alive</c> is answered with it and the connection kept (ab -k waits for that
    /// header, and hung without it); HTTP/1.0 without it and HTTP/1.1 with <c>Connection: close</c> get one answer, then the close.
    /// </summary>
    private static void AssertPersistence(NetworkNamespace ns, string host, PeerApp app)
    {
        var keepAlive = ns.Exec(TimeSpan.FromSeconds(60), "ab", "-k", "-n", "200", "-c", "4", "-s", "10", $"http://{host}/");
        Assert.True(keepAlive.ExitCode == 0, keepAlive.Stdout + keepAlive.Stderr + app.Log);
        Assert.Matches(@"Complete requests:\s+200\n", keepAlive.Stdout);
        Assert.Matches(@"Failed requests:\s+0\n", keepAlive.Stdout);
        Assert.Matches(@"Keep-Alive requests:\s+200\n", keepAlive.Stdout);

        var perRequest = ns.Exec(TimeSpan.FromSeconds(60), "ab", "-n", "200", "-c", "4", "-s", "10", $"http://{host}/");
        Assert.True(perRequest.ExitCode == 0, perRequest.Stdout + perRequest.Stderr + app.Log);
        Assert.Matches(@"Complete requests:\s+200\n", perRequest.Stdout);
        Assert.Matches(@"Failed requests:\s+0\n", perRequest.Stdout);

        var reused = Curl(ns, "-sSv", "--http1.0", "-H", "Connection: keep-alive", "--max-time", "20", "-o", "/dev/null", "-o", "/dev/null",
            $"http://{host}/", $"http://{host}/bytes/5");
        Assert.Contains("Re-using existing", reused.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("< Connection: keep-alive", reused.Stderr);

        // Without shutting down its side: the server's close ends the read, else it is still open after 3 s (exit 124).
        var http10Kept = Held(ns, host, @"GET /bytes/3 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        Assert.Equal(124, http10Kept.ExitCode);
        Assert.Matches(@"^HTTP/1.1 200 OK\r\n(.+\r\n)*Connection: keep-alive\r\n\r\n...$", http10Kept.Stdout);
        var http10 = Held(ns, host, @"GET /bytes/3 HTTP/1.0\r\n\r\n");
        Assert.True(http10.ExitCode == 0, "HTTP/1.0 without keep-alive left open: " + http10.Stdout);
        Assert.Matches(@"^HTTP/1.1 200 OK\r\n(.+\r\n)*Connection: close\r\n\r\n...$", http10.Stdout);
        var http11Close = Held(ns, host, @"GET /bytes/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.True(http11Close.ExitCode == 0, "HTTP/1.1 with Connection: close left open: " + http11Close.Stdout);
        Assert.Matches(@"^HTTP/1.1 200 OK\r\n(.+\r\n)*Connection: close\r\n\r\n...$", http11Close.Stdout);
        var http11 = Held(ns, host, @"GET /bytes/3 HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(124, http11.ExitCode);
        Assert.False(app.HasExited, app.Log);
    }

    /// <summary>examples/http on our stack over a TAP in <paramref name="ns"/> at <see cref="Ours"/>, serving.</summary>
    private PeerApp StartOnTap(NetworkNamespace ns)
    {
        PeerApp.CreateTap(ns, Tap, "198.18.0.1/24");
        var app = PeerApp.Start(ns, examples.Executable("http"), $"--net=tap:{Tap}", "--mac=02:00:00:00:00:02", $"--ipv4={Ours}/24");
        try
        {
            app.WaitForLog("serving HTTP on", TimeSpan.FromSeconds(30));
            return app;
        }
        catch
        {
            app.Dispose();
            throw;
        }
    }

    private static HostCommand.Result Curl(NetworkNamespace ns, params string[] arguments)
    {
        var result = ns.Exec(TimeSpan.FromSeconds(30), ["curl", .. arguments]);
        Assert.True(result.ExitCode == 0, $"curl {string.Join(' ', arguments)}: {result.Stderr}");
        return result;
    }

    /// <summary>
    /// Sends <paramref name="request"/> (printf escapes) and reads, without closing the sending side, until the server
    /// closes (exit 0) or for 3 s (exit 124).
    /// </summary>
    private static HostCommand.Result Held(NetworkNamespace ns, string host, string request) =>
        ns.Exec(TimeSpan.FromSeconds(30), "bash", "-c", $"exec 3<>/dev/tcp/{host}/80; printf '{request}' >&3; timeout 3 cat <&3");

    /// <summary>Sends <paramref name="request"/> (printf escapes) with nc and returns the whole answer.</summary>
    private static string Raw(NetworkNamespace ns, string request, string host = Ours) =>
        ns.Exec(TimeSpan.FromSeconds(30), "bash", "-c", $"printf '{request}' | nc -N -w 5 {host} 80").Stdout;
}
