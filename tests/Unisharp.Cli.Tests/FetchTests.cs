using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// examples/fetch through <c>unisharp run -t unix --net tap:NAME --netns NS</c>: HttpClient on our stack fetches a file
/// from python3's http.server by name, the name resolved by our DNS resolver against dnsmasq (<c>--address=/svc.test/…</c>,
/// no upstream) in the test's namespace; the server given with <c>--dns</c>, or learnt from dnsmasq's DHCP (option 6).
/// </summary>
[Collection(CliCollection.Name)]
public sealed class FetchTests(BuiltExamples examples)
{
    private const string Host = "198.18.9.1";
    private const int FileBytes = 3_000_000;

    [RequiresNamespacesFact]
    public void Fetch_NameResolvedWithDnsArgument_BodySha256Matches()
    {
        string log = Fetch("usdns0", [], ["--ipv4=198.18.9.2/24", $"--dns={Host}"], https: false, out string expected);

        Assert.Contains($"svc.test is {Host}", log);
        Assert.Contains($"fetched http://svc.test:8000/file: {FileBytes} bytes, sha256 {expected}", log);
    }

    [RequiresNamespacesFact]
    public void Fetch_DnsServerFromDhcp_BodySha256Matches()
    {
        string log = Fetch("usdns1", ["--dhcp-range=198.18.9.50,198.18.9.50,255.255.255.0,2m", "--dhcp-authoritative"], [], https: false, out string expected);

        Assert.Contains($"DNS {Host}", log);
        Assert.Contains($"fetched http://svc.test:8000/file: {FileBytes} bytes, sha256 {expected}", log);
    }

    /// <summary>HTTPS: SslStream over our TCP, the server's certificate for svc.test signed by a test CA given with --ca.</summary>
    [RequiresNamespacesFact]
    public void Fetch_HttpsWithTestCa_BodySha256Matches()
    {
        string log = Fetch("usdns2", [], ["--ipv4=198.18.9.2/24", $"--dns={Host}"], https: true, out string expected);

        Assert.Contains($"fetched https://svc.test:8443/file: {FileBytes} bytes, sha256 {expected}", log);
    }

    /// <summary>
    /// 40 A records: dnsmasq's UDP answer holds 30 and sets TC (it is over 512 bytes), so the resolver asks again over
    /// our TCP and gets all 40; the fetch then connects to the one with a server (the others have no route).
    /// </summary>
    [RequiresNamespacesFact]
    public void Fetch_AnswerTruncatedOverUdp_RepeatedOverTcp()
    {
        string[] records = [$"--host-record=many.test,{Host}", .. Enumerable.Range(1, 39).Select(i => $"--host-record=many.test,198.19.0.{i}")];
        string log = Fetch("usdns3", records, ["--ipv4=198.18.9.2/24", $"--dns={Host}", "--log-level=debug"], https: false, out string expected, name: "many.test");

        Assert.Contains($"the answer for many.test was truncated; asking {Host} over TCP", log);
        Assert.Equal(40, Regex.Match(log, @"many\.test is (.*)").Groups[1].Value.Split(", ").Length);
        Assert.Contains($"fetched http://many.test:8000/file: {FileBytes} bytes, sha256 {expected}", log);
    }

    /// <summary>
    /// Runs the fetch in a fresh namespace; once the tool has made the TAP, addresses its host side and starts dnsmasq
    /// and http.server on it (the app retries until they answer). Returns the tool's output once it has exited with 0.
    /// </summary>
    private string Fetch(string tap, string[] dnsmasqExtra, string[] boot, bool https, out string expectedSha256, string name = "svc.test")
    {
        string app = PublishTests.AppDirectory(examples.Executable("fetch"));
        string root = Path.Combine(Path.GetTempPath(), $"unisharp-fetch-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        byte[] content = new byte[FileBytes];
        new Random(9).NextBytes(content);
        File.WriteAllBytes(Path.Combine(root, "file"), content);
        expectedSha256 = Convert.ToHexStringLower(SHA256.HashData(content));
        string url = https ? $"https://{name}:8443/file" : $"http://{name}:8000/file";
        if (https)
        {
            MakeTestCertificates(root);
            boot = [.. boot, $"--ca={Path.Combine(root, "ca.pem")}"];
        }
        using var ns = NetworkNamespace.Create();
        var peers = new List<Process>();
        try
        {
            using var tool = PeerApp.StartTool(["run", app, "-t", "unix", "--no-build", "--net", $"tap:{tap}", "--netns", ns.Name, "--",
                .. boot, $"--url={url}", "--attempts=60"]);
            var clock = Stopwatch.StartNew();
            while (ns.Exec("ip", "link", "show", tap).ExitCode != 0)
            {
                Assert.False(tool.HasExited || clock.Elapsed > TimeSpan.FromSeconds(60), $"no TAP {tap}:\n{tool.Log}");
                Thread.Sleep(100);
            }
            ns.Exec("ip", "addr", "add", $"{Host}/24", "dev", tap).EnsureSuccess("address the host side");
            peers.Add(ns.Start(["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", $"--interface={tap}",
                "--bind-interfaces", $"--address=/svc.test/{Host}", $"--dhcp-leasefile={Path.Combine(root, "leases")}", .. dnsmasqExtra]));
            peers.Add(https
                ? ns.Start(["python3", "-c", HttpsServer, root, Path.Combine(root, "svc.pem"), Path.Combine(root, "svc.key")])
                : ns.Start(["python3", "-m", "http.server", "8000", "--bind", Host, "--directory", root]));

            int code = tool.WaitForExit(TimeSpan.FromSeconds(120));
            Assert.True(code == 0, tool.Log);
            return tool.Log;
        }
        finally
        {
            foreach (var peer in peers)
            {
                peer.Kill();
                peer.WaitForExit();
                peer.Dispose();
            }
            PeerApp.KillAllIn(ns);
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>python3's http.server behind TLS on port 8443: directory, certificate chain, key.</summary>
    private const string HttpsServer =
        "import functools, http.server, ssl, sys\n" +
        "handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])\n" +
        $"server = http.server.ThreadingHTTPServer(('{Host}', 8443), handler)\n" +
        "context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n" +
        "context.load_cert_chain(sys.argv[2], sys.argv[3])\n" +
        "server.socket = context.wrap_socket(server.socket, server_side=True)\n" +
        "server.serve_forever()\n";

    /// <summary>A test CA (ca.pem) and a certificate for svc.test it signed (svc.pem, svc.key), with openssl.</summary>
    private static void MakeTestCertificates(string directory)
    {
        string script = string.Join(" && ",
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=Unisharp test CA' " +
            "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
            "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout svc.key -out svc.csr -subj /CN=svc.test",
            "printf 'subjectAltName=DNS:svc.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > svc.ext",
            "openssl x509 -req -in svc.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out svc.pem -days 2 -extfile svc.ext");
        HostCommand.Run("bash", ["-c", $"cd '{directory}' && {script}"]).EnsureSuccess("make the test certificates");
    }
}
