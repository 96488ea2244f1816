using System.Diagnostics;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// curl and python3 against examples/aspnet (ASP.NET Core's Kestrel through Unisharp.AspNetCore, NativeAOT) run as a user
/// runs it, with <c>unisharp run -t unix</c>: on our stack over a TAP device in the tool's namespace (one app shared by
/// most tests, <see cref="AspNetOnTap"/>), and on the host's sockets.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class AspNetTests(BuiltExamples examples, AspNetOnTap shared) : IClassFixture<AspNetOnTap>
{
    private const string Peer = AspNetOnTap.Peer;
    private const string Ours = AspNetOnTap.Ours;

    [RequiresNamespacesFact]
    public void Curl_KeepAlivePagesJsonStaticFileAndHealth_OneConnectionAndClientAddress()
    {
        var ns = shared.Namespace(examples);
        var app = shared.Tool(examples);

        string[] paths = ["/", "/api/items", "/style.css", "/healthz", "/api/whoami"];
        var files = paths.Select((_, i) => $"/tmp/aspnet-{ns.Name}-{i}").ToArray();
        try
        {
            var all = Curl(ns, ["-sSv", "--max-time", "20", .. paths.Zip(files).SelectMany(p => new[] { "-o", p.Second, $"http://{Ours}{p.First}" })]);
            Assert.Equal(paths.Length - 1, CountOf(all.Stderr, "Re-using existing"));
            Assert.Contains("Hello from ASP.NET Core on Unisharp", File.ReadAllText(files[0]));
            Assert.Equal("""[{"id":1,"name":"Kestrel","price":0},{"id":2,"name":"TCP/IP stack in C#","price":0},{"id":3,"name":"NativeAOT","price":0}]""",
                File.ReadAllText(files[1]));
            Assert.Contains("#512bd4", File.ReadAllText(files[2]));
            Assert.Equal("ok\n", File.ReadAllText(files[3]));
            // HttpContext.Connection.RemoteIpAddress is the client's, from our TCP connection.
            Assert.Matches($@"^{Peer.Replace(".", @"\.")}:\d+ HTTP/1.1\n$", File.ReadAllText(files[4]));
        }
        finally
        {
            foreach (string file in files)
            {
                File.Delete(file);
            }
        }

        var missing = Curl(ns, "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}", $"http://{Ours}/missing");
        Assert.Equal("404", missing.Stdout);
        Assert.False(app.HasExited, app.Log);
    }

    /// <summary>h2c on its own port: Kestrel serves HTTP/2 without TLS only on an endpoint of HTTP/2 alone.</summary>
    [RequiresNamespacesFact]
    public void Curl_Http2PriorKnowledge_ServedAsH2c()
    {
        var ns = shared.Namespace(examples);
        var app = shared.Tool(examples);

        // One URL per curl: Debian's curl 7.88 fails a second request on a reused h2c connection ("Error in the HTTP2
        // framing layer") against Kestrel's socket transport as well.
        var h2 = Curl(ns, "-sS", "--http2-prior-knowledge", "--max-time", "20", "-w", "%{http_version}", $"http://{Ours}:8080/api/whoami");
        Assert.Matches($@"^{Peer.Replace(".", @"\.")}:\d+ HTTP/2\n2$", h2.Stdout);
        Assert.Equal("ok\n2", Curl(ns, "-sS", "--http2-prior-knowledge", "--max-time", "20", "-w", "%{http_version}", $"http://{Ours}:8080/healthz").Stdout);
    }

    [RequiresNamespacesFact]
    public void Curl_TenMebibytePostAndHundredMebibyteResponse_ByteExact()
    {
        var ns = shared.Namespace(examples);
        var app = shared.Tool(examples);

        var (path, sha256) = TestPattern.RandomFile(10L << 20);
        try
        {
            var echo = ns.Exec(TimeSpan.FromSeconds(120), "bash", "-c",
                $"set -o pipefail; curl -sS --fail --max-time 100 --data-binary @{path} -H 'Content-Type: application/octet-stream' http://{Ours}/api/echo | sha256sum");
            Assert.True(echo.ExitCode == 0, echo.Stderr + app.Log);
            Assert.StartsWith(sha256, echo.Stdout);
        }
        finally
        {
            File.Delete(path);
        }

        const long Large = 100L << 20;
        var bytes = ns.Exec(TimeSpan.FromSeconds(240), "bash", "-c", $"set -o pipefail; curl -sS --fail --max-time 200 http://{Ours}/bytes/{Large} | sha256sum");
        Assert.True(bytes.ExitCode == 0, bytes.Stderr + app.Log);
        Assert.StartsWith(TestPattern.Sha256(Large), bytes.Stdout);
        Assert.False(app.HasExited, app.Log);
    }

    /// <summary>
    /// Slowloris (heads trickled a byte a second) is cut off by Kestrel's RequestHeadersTimeout (10 s in the example)
    /// while others are served; then 10,000 requests with broken heads each get a 400, and a good request is answered.
    /// </summary>
    [RequiresNamespacesFact]
    public void BadInput_SlowlorisAndTenThousandBrokenHeads_LimitsHoldAndNextRequestServed()
    {
        var ns = shared.Namespace(examples);
        var app = shared.Tool(examples);

        const string Slowloris = """
            import select, socket, sys, threading, time
            host, count = sys.argv[1], int(sys.argv[2])
            cut = []
            def trickle():
                s = socket.create_connection((host, 80), timeout=60)
                start = time.monotonic()
                try:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
                    for _ in range(40):
                        # The server ends it with a 408 and its FIN (or a reset): then a read does not block.
                        if select.select([s], [], [], 1)[0]:
                            s.recv(4096)
                            cut.append(time.monotonic() - start)
                            return
                        s.sendall(b"X")
                    cut.append(None)
                except OSError:
                    cut.append(time.monotonic() - start)
            threads = [threading.Thread(target=trickle) for _ in range(count)]
            for t in threads: t.start()
            for t in threads: t.join()
            print(len([c for c in cut if c is not None]), max((c for c in cut if c is not None), default=0))
            """;
        var slow = Task.Run(() => ns.Exec(TimeSpan.FromSeconds(120), "python3", "-c", Slowloris, Ours, "20"));
        Thread.Sleep(3000);
        // Served while the slow clients hold their connections.
        Assert.Equal("ok\n", Curl(ns, "-sS", "--max-time", "10", $"http://{Ours}/healthz").Stdout);
        var slowResult = slow.GetAwaiter().GetResult();
        Assert.True(slowResult.ExitCode == 0, slowResult.Stderr);
        var counts = slowResult.Stdout.Split(' ', StringSplitOptions.TrimEntries);
        Assert.Equal("20", counts[0]);
        Assert.InRange(double.Parse(counts[1], System.Globalization.CultureInfo.InvariantCulture), 9, 30);

        const string Broken = """
            import socket, sys, threading
            host, total, workers = sys.argv[1], int(sys.argv[2]), 8
            heads = [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
                     b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"]
            answers = {}
            lock = threading.Lock()
            def run(k):
                for i in range(k, total, workers):
                    s = socket.create_connection((host, 80), timeout=20)
                    s.sendall(heads[i % len(heads)])
                    data = b""
                    while True:
                        chunk = s.recv(4096)
                        if not chunk: break
                        data += chunk
                    s.close()
                    status = data.split(b"\r\n", 1)[0].decode(errors="replace")
                    with lock: answers[status] = answers.get(status, 0) + 1
            threads = [threading.Thread(target=run, args=(k,)) for k in range(workers)]
            for t in threads: t.start()
            for t in threads: t.join()
            for status, n in sorted(answers.items()): print(n, status)
            """;
        var broken = ns.Exec(TimeSpan.FromSeconds(300), "python3", "-c", Broken, Ours, "10000");
        Assert.True(broken.ExitCode == 0, broken.Stderr + app.Log[^Math.Min(app.Log.Length, 4000)..]);
        // Each is refused with a 400, or a 505 for the unknown version; none is served, none is left unanswered.
        int answered = 0;
        foreach (string line in broken.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.Matches(@"^\d+ HTTP/1.1 (400 Bad Request|505 HTTP Version Not Supported)$", line);
            answered += int.Parse(line.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        Assert.Equal(10000, answered);

        Assert.Equal("ok\n", Curl(ns, "-sS", "--max-time", "10", $"http://{Ours}/healthz").Stdout);
        Assert.False(app.HasExited, app.Log);
    }

    /// <summary>
    /// <c>unisharp run --net socket</c>: Kestrel on our transport over the host's sockets (bound to 127.0.0.1 by
    /// <c>--ipv4</c>), HTTP/1.1 and h2c; SIGTERM to the tool stops Kestrel with the unikernel, which exits with 143.
    /// </summary>
    [RequiresNamespacesFact]
    public void Curl_HostSockets_PageJsonAndHttp2()
    {
        string app = PublishTests.AppDirectory(examples.Executable("aspnet"));
        int http = PublishTests.FreePort(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        int h2c = PublishTests.FreePort(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        using var tool = PeerApp.StartTool("run", app, "-t", "unix", "--no-build", "--net", "socket", "--",
            "--ipv4=127.0.0.1/8", $"--port={http}", $"--h2c-port={h2c}");
        tool.WaitForLog($@"Kestrel listening on 127\.0\.0\.1:{h2c}", TimeSpan.FromSeconds(60));

        Assert.Contains("Hello from ASP.NET Core on Unisharp", HostCurl("-sS", "--max-time", "20", $"http://127.0.0.1:{http}/").Stdout);
        Assert.StartsWith("[{\"id\":1,", HostCurl("-sS", "--max-time", "20", $"http://127.0.0.1:{http}/api/items").Stdout);
        Assert.Matches(@"^127\.0\.0\.1:\d+ HTTP/2\n$", HostCurl("-sS", "--http2-prior-knowledge", "--max-time", "20", $"http://127.0.0.1:{h2c}/api/whoami").Stdout);

        // SIGTERM: Kestrel stops with the unikernel, which exits with 143.
        tool.Signal("TERM");
        Assert.Equal(143, tool.WaitForExit(TimeSpan.FromSeconds(20)));
    }

    /// <summary>
    /// HTTPS with a certificate and key from files named by boot arguments (signed by a test CA): curl with the CA gets
    /// HTTP/2 by ALPN and HTTP/1.1 when it asks; a handshake of garbage does not stop the next one.
    /// </summary>
    [RequiresNamespacesFact]
    public void Curl_HttpsWithCertificateFile_Http2ByAlpnHttp11AndGarbageHandshakeSurvived()
    {
        var ns = shared.Namespace(examples);
        var app = shared.Tool(examples);
        string ca = shared.CaFile;

        var h2 = Curl(ns, "-sS", "--cacert", ca, "--http2", "--max-time", "20", "-w", "%{http_version}", $"https://{Ours}/api/whoami");
        Assert.Matches($@"^{Peer.Replace(".", @"\.")}:\d+ HTTP/2\n2$", h2.Stdout);
        var h1 = Curl(ns, "-sS", "--cacert", ca, "--http1.1", "--max-time", "20", "-w", "%{http_version}", $"https://{Ours}/healthz");
        Assert.Equal("ok\n1.1", h1.Stdout);

        ns.Exec(TimeSpan.FromSeconds(30), "bash", "-c", $"head -c 3000 /dev/urandom | nc -N -w 3 {Ours} 443");
        Assert.Contains("Hello from ASP.NET Core on Unisharp", Curl(ns, "-sS", "--cacert", ca, "--max-time", "20", $"https://{Ours}/").Stdout);
        Assert.False(app.HasExited, app.Log);
    }

    /// <summary>
    /// GET /api/upstream calls another service by name: HttpClient on our stack, svc.test resolved by our DNS stub
    /// against dnsmasq (no upstream of its own) on the TAP's host side, the body served by python3's http.server there.
    /// </summary>
    [RequiresNamespacesFact]
    public void Curl_UpstreamRoute_HttpClientByNameThroughDnsmasq()
    {
        var ns = shared.Namespace(examples);
        var app = shared.Tool(examples);
        var (length, sha256) = shared.Upstream;

        // The peers take a moment to listen: the route answers 502 until then.
        string answer = "";
        for (int attempt = 0; attempt < 40 && !answer.Contains(" 200 "); attempt++)
        {
            Thread.Sleep(attempt == 0 ? 0 : 500);
            answer = ns.Exec(TimeSpan.FromSeconds(30), "curl", "-sS", "--max-time", "20", $"http://{Ours}/api/upstream").Stdout;
        }
        Assert.Equal($"http://svc.test:8000/file 200 {length} bytes sha256 {sha256}\n", answer);
        Assert.False(app.HasExited, app.Log);
    }

    /// <summary>
    /// SIGTERM to <c>unisharp run</c> with two requests in flight (POSTs to /api/echo whose bodies the client trickles):
    /// Kestrel refuses new connections at once, lets the short one finish (its echo byte-exact) and aborts the one that
    /// would outlast the unikernel's 5 s grace period when its shutdown timeout (taken from it: 3 s) ends; the app then
    /// returns by itself, so the unikernel exits with 143 within the grace period, not at the host's deadline (which
    /// warns "did not stop" and exits 0).
    /// </summary>
    [RequiresNamespacesFact]
    public void Stop_RequestsInFlight_ShortOneCompletesNewConnectionsRefusedLongOneAbortedExitsWithinGrace()
    {
        // Sends a POST of CHUNKS x 4 KiB, one chunk every 0.1 s (touching MARKER after the first), then reads the echo.
        const string Trickle = """
            import os, socket, sys, time
            host, chunks, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3]
            body = os.urandom(4096 * chunks)
            s = socket.create_connection((host, 80), timeout=30)
            start = time.monotonic()
            try:
                s.sendall(b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % len(body))
                for i in range(chunks):
                    s.sendall(body[i * 4096:(i + 1) * 4096])
                    if i == 0: open(marker, "w").close()
                    time.sleep(0.1)
                answer = b""
                while True:
                    data = s.recv(65536)
                    if not data: break
                    answer += data
                    if answer.endswith(body): break
                print("echoed" if answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(body) else "wrong %r" % answer[:200])
            except OSError as e:
                print("ended %s after %.1f s" % (type(e).__name__, time.monotonic() - start))
            """;
        string app = PublishTests.AppDirectory(examples.Executable("aspnet"));
        string dir = Path.Combine(Path.GetTempPath(), $"aspnet-stop-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        using var tool = PeerApp.StartTool("run", app, "-t", "unix", "--no-build", "--net", "tap:ustap1", "--", "--ipv4=198.18.1.2/24");
        try
        {
            string name = tool.WaitForLog(@"reach the guest with: ip netns exec (\S+) ping", TimeSpan.FromSeconds(60)).Groups[1].Value;
            tool.WaitForLog("Kestrel listening on .*:8080", TimeSpan.FromSeconds(60));
            using var ns = NetworkNamespace.Existing(name);
            string shortMarker = Path.Combine(dir, "short"), longMarker = Path.Combine(dir, "long");
            // About 1.6 s and 20 s at the client's pace.
            var shortRequest = Task.Run(() => ns.Exec(TimeSpan.FromSeconds(60), "python3", "-c", Trickle, "198.18.1.2", "16", shortMarker));
            var longRequest = Task.Run(() => ns.Exec(TimeSpan.FromSeconds(60), "python3", "-c", Trickle, "198.18.1.2", "200", longMarker));
            var clock = Stopwatch.StartNew();
            while (!(File.Exists(shortMarker) && File.Exists(longMarker)))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20) && !shortRequest.IsCompleted && !longRequest.IsCompleted, "the requests did not start:\n" + tool.Log);
                Thread.Sleep(10);
            }

            tool.Signal("TERM");
            var stopping = Stopwatch.StartNew();
            // A new connection is refused (curl's 7) while the short request is still under way.
            int refused = -1;
            while (refused != 7 && !shortRequest.IsCompleted && stopping.Elapsed < TimeSpan.FromSeconds(1.5))
            {
                refused = ns.Exec(TimeSpan.FromSeconds(10), "curl", "-sS", "--max-time", "2", "-o", "/dev/null", "http://198.18.1.2/healthz").ExitCode;
            }
            Assert.True(refused == 7, $"a new connection after SIGTERM: curl exit {refused}\n{tool.Log}");
            Assert.False(shortRequest.IsCompleted, "the short request ended before the new connection was refused");

            var done = shortRequest.GetAwaiter().GetResult();
            Assert.True(done.Stdout == "echoed\n", done.Stdout + done.Stderr + tool.Log);

            var aborted = longRequest.GetAwaiter().GetResult();
            var abortedAfter = stopping.Elapsed;
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(aborted.Stdout, "^ended (ConnectionResetError|BrokenPipeError)"), aborted.Stdout + aborted.Stderr + tool.Log);
            // Kestrel's 3 s shutdown timeout, not the host's 5 s deadline (which would log "did not stop within", checked
            // below); the upper bound leaves room for a loaded machine.
            Assert.True(abortedAfter > TimeSpan.FromSeconds(2.5) && abortedAfter < TimeSpan.FromSeconds(7), $"aborted {abortedAfter} after SIGTERM\n{tool.Log}");

            Assert.Equal(143, tool.WaitForExit(TimeSpan.FromSeconds(15)));
            Assert.DoesNotContain("did not stop within", tool.Log);
            Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"exited {stopping.Elapsed} after SIGTERM\n{tool.Log}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static HostCommand.Result HostCurl(params string[] arguments)
    {
        var result = HostCommand.Run("curl", arguments, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, $"curl {string.Join(' ', arguments)}: {result.Stderr}");
        return result;
    }

    private static int CountOf(string text, string value)
    {
        int count = 0;
        for (int i = text.IndexOf(value, StringComparison.OrdinalIgnoreCase); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.OrdinalIgnoreCase))
        {
            count++;
        }
        return count;
    }

    private static HostCommand.Result Curl(NetworkNamespace ns, params string[] arguments)
    {
        var result = ns.Exec(TimeSpan.FromSeconds(30), ["curl", .. arguments]);
        Assert.True(result.ExitCode == 0, $"curl {string.Join(' ', arguments)}: {result.Stderr}");
        return result;
    }
}
