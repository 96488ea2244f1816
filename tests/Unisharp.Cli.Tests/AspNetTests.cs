using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// curl and python3 against examples/aspnet (ASP.NET Core's Kestrel through Unisharp.AspNetCore, NativeAOT) on our
/// stack over a TAP device in a namespace made for the test, and on the host's sockets.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class AspNetTests(BuiltExamples examples)
{
    private const string Tap = "ustap0";
    private const string Peer = "198.18.0.1";
    private const string Ours = "198.18.0.2";

    [RequiresNamespacesFact]
    public void Curl_KeepAlivePagesJsonStaticFileAndHealth_OneConnectionAndClientAddress()
    {
        using var ns = NetworkNamespace.Create();
        using var app = StartOnTap(ns);

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
        using var ns = NetworkNamespace.Create();
        using var app = StartOnTap(ns);

        // One URL per curl: Debian's curl 7.88 fails a second request on a reused h2c connection ("Error in the HTTP2
        // framing layer") against Kestrel's socket transport as well.
        var h2 = Curl(ns, "-sS", "--http2-prior-knowledge", "--max-time", "20", "-w", "%{http_version}", $"http://{Ours}:8080/api/whoami");
        Assert.Matches($@"^{Peer.Replace(".", @"\.")}:\d+ HTTP/2\n2$", h2.Stdout);
        Assert.Equal("ok\n2", Curl(ns, "-sS", "--http2-prior-knowledge", "--max-time", "20", "-w", "%{http_version}", $"http://{Ours}:8080/healthz").Stdout);
    }

    [RequiresNamespacesFact]
    public void Curl_TenMebibytePostAndHundredMebibyteResponse_ByteExact()
    {
        using var ns = NetworkNamespace.Create();
        using var app = StartOnTap(ns);

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
        using var ns = NetworkNamespace.Create();
        using var app = StartOnTap(ns);

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

    [RequiresNamespacesFact]
    public void Curl_HostSockets_PageJsonAndHttp2()
    {
        using var ns = NetworkNamespace.Create();
        using var app = PeerApp.Start(ns, examples.Executable("aspnet"), "--net=socket", "--port=8180", "--h2c-port=8181");
        app.WaitForLog("Kestrel listening on .*:8181", TimeSpan.FromSeconds(30));

        Assert.Contains("Hello from ASP.NET Core on Unisharp", Curl(ns, "-sS", "--max-time", "20", "http://127.0.0.1:8180/").Stdout);
        Assert.StartsWith("[{\"id\":1,", Curl(ns, "-sS", "--max-time", "20", "http://127.0.0.1:8180/api/items").Stdout);
        Assert.Matches(@"^127\.0\.0\.1:\d+ HTTP/2\n$", Curl(ns, "-sS", "--http2-prior-knowledge", "--max-time", "20", "http://127.0.0.1:8181/api/whoami").Stdout);

        // SIGTERM: Kestrel stops with the unikernel, which exits with 143.
        app.Signal("TERM");
        Assert.Equal(143, app.WaitForExit(TimeSpan.FromSeconds(20)));
    }

    /// <summary>
    /// HTTPS with a certificate and key from files named by boot arguments (made here, signed by a test CA): curl with
    /// the CA gets HTTP/2 by ALPN and HTTP/1.1 when it asks; a handshake of garbage does not stop the next one.
    /// </summary>
    [RequiresNamespacesFact]
    public void Curl_HttpsWithCertificateFile_Http2ByAlpnHttp11AndGarbageHandshakeSurvived()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"aspnet-tls-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            const string MakeCertificates = """
                set -e
                cd "$1"
                openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=unisharp-test-ca
                openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj "/CN=$2"
                printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$2" > server.ext
                openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
                """;
            HostCommand.Run("bash", ["-c", MakeCertificates, "make-certificates", dir, Ours], TimeSpan.FromSeconds(60)).EnsureSuccess("make the test certificates");
            using var ns = NetworkNamespace.Create();
            using var app = StartOnTap(ns, $"--cert={dir}/server.pem", $"--key={dir}/server.key");
            app.WaitForLog("Kestrel listening on .*:443", TimeSpan.FromSeconds(30));

            string ca = Path.Combine(dir, "ca.pem");
            var h2 = Curl(ns, "-sS", "--cacert", ca, "--http2", "--max-time", "20", "-w", "%{http_version}", $"https://{Ours}/api/whoami");
            Assert.Matches($@"^{Peer.Replace(".", @"\.")}:\d+ HTTP/2\n2$", h2.Stdout);
            var h1 = Curl(ns, "-sS", "--cacert", ca, "--http1.1", "--max-time", "20", "-w", "%{http_version}", $"https://{Ours}/healthz");
            Assert.Equal("ok\n1.1", h1.Stdout);

            ns.Exec(TimeSpan.FromSeconds(30), "bash", "-c", $"head -c 3000 /dev/urandom | nc -N -w 3 {Ours} 443");
            Assert.Contains("Hello from ASP.NET Core on Unisharp", Curl(ns, "-sS", "--cacert", ca, "--max-time", "20", $"https://{Ours}/").Stdout);
            Assert.False(app.HasExited, app.Log);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// GET /api/upstream calls another service by name: HttpClient on our stack, svc.test resolved by our DNS stub
    /// against dnsmasq (no upstream of its own) in the namespace, the body served by python3's http.server.
    /// </summary>
    [RequiresNamespacesFact]
    public void Curl_UpstreamRoute_HttpClientByNameThroughDnsmasq()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"aspnet-upstream-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        byte[] content = new byte[1_000_000];
        new Random(15).NextBytes(content);
        File.WriteAllBytes(Path.Combine(dir, "file"), content);
        string expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content));
        using var ns = NetworkNamespace.Create();
        var peers = new List<System.Diagnostics.Process>();
        try
        {
            using var app = StartOnTap(ns, $"--dns={Peer}", "--upstream=http://svc.test:8000/file");
            peers.Add(ns.Start(["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", $"--interface={Tap}",
                "--bind-interfaces", $"--address=/svc.test/{Peer}"]));
            peers.Add(ns.Start(["python3", "-m", "http.server", "8000", "--bind", Peer, "--directory", dir]));

            // The peers take a moment to listen: the route answers 502 until then.
            string answer = "";
            for (int attempt = 0; attempt < 40 && !answer.Contains(" 200 "); attempt++)
            {
                Thread.Sleep(attempt == 0 ? 0 : 500);
                answer = ns.Exec(TimeSpan.FromSeconds(30), "curl", "-sS", "--max-time", "20", $"http://{Ours}/api/upstream").Stdout;
            }
            Assert.Equal($"http://svc.test:8000/file 200 {content.Length} bytes sha256 {expected}\n", answer);
            Assert.False(app.HasExited, app.Log);
        }
        finally
        {
            foreach (var peer in peers)
            {
                peer.Kill();
                peer.WaitForExit();
                peer.Dispose();
            }
            Directory.Delete(dir, recursive: true);
        }
    }

    private PeerApp StartOnTap(NetworkNamespace ns, params string[] bootArguments)
    {
        PeerApp.CreateTap(ns, Tap, $"{Peer}/24");
        var app = PeerApp.Start(ns, examples.Executable("aspnet"), [$"--net=tap:{Tap}", "--mac=02:00:00:00:00:02", $"--ipv4={Ours}/24", .. bootArguments]);
        try
        {
            app.WaitForLog("Kestrel listening on .*:8080", TimeSpan.FromSeconds(30));
            return app;
        }
        catch
        {
            app.Dispose();
            throw;
        }
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
