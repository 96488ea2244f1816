using System.Diagnostics;
using System.Security.Cryptography;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// examples/aspnet as a user runs it, started once for the tests of <see cref="AspNetTests"/> that share it:
/// <c>unisharp run -t unix --no-build --net tap:ustap0 -- --ipv4=198.18.0.2/24 ...</c>, in the tool's own namespace
/// (<c>unisharp-PID</c>, the TAP's host side 198.18.0.1), with HTTPS from a test CA's certificate and an upstream by name:
/// dnsmasq and python3's http.server on the TAP's host side. Disposing it stops the peers, then the tool (SIGTERM),
/// which deletes its namespace.
/// </summary>
public sealed class AspNetOnTap : IDisposable
{
    public const string Tap = "ustap0";
    public const string Peer = "198.18.0.1";
    public const string Ours = "198.18.0.2";

    private readonly Lock _lock = new();
    private readonly List<Process> _peers = [];
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"aspnet-tap-{Guid.NewGuid():N}");
    private PeerApp? _tool;
    private NetworkNamespace? _namespace;
    private Exception? _failed;

    /// <summary>The test CA's certificate the app's certificate (for <see cref="Ours"/>) is signed by.</summary>
    public string CaFile => Path.Combine(_directory, "ca.pem");

    /// <summary>What the upstream serves at /file, and its sha256.</summary>
    public (int Length, string Sha256) Upstream { get; private set; }

    /// <summary>The tool's namespace, where the peers run.</summary>
    internal NetworkNamespace Namespace(BuiltExamples examples)
    {
        Start(examples);
        return _namespace!;
    }

    /// <summary>The running tool, its output and the app's log.</summary>
    internal PeerApp Tool(BuiltExamples examples)
    {
        Start(examples);
        return _tool!;
    }

    private void Start(BuiltExamples examples)
    {
        lock (_lock)
        {
            if (_failed is not null)
            {
                throw new InvalidOperationException($"examples/aspnet did not start: {_failed.Message}", _failed);
            }
            if (_tool is not null)
            {
                return;
            }
            try
            {
                StartOnce(examples);
            }
            catch (Exception e)
            {
                _failed = e;
                throw;
            }
        }
    }

    private void StartOnce(BuiltExamples examples)
    {
        string app = PublishTests.AppDirectory(examples.Executable("aspnet"));
        Directory.CreateDirectory(_directory);
        MakeCertificates(_directory, Ours);
        byte[] content = new byte[1_000_000];
        new Random(15).NextBytes(content);
        File.WriteAllBytes(Path.Combine(_directory, "file"), content);
        Upstream = (content.Length, Convert.ToHexStringLower(SHA256.HashData(content)));

        _tool = PeerApp.StartTool("run", app, "-t", "unix", "--no-build", "--net", $"tap:{Tap}", "--",
            $"--ipv4={Ours}/24", $"--cert={_directory}/server.pem", $"--key={_directory}/server.key", $"--dns={Peer}",
            "--upstream=http://svc.test:8000/file");
        var start = TimeSpan.FromSeconds(60);
        string ns = _tool.WaitForLog(@$"host side {Peer.Replace(".", @"\.")}/24; reach the guest with: ip netns exec (\S+) ping", start).Groups[1].Value;
        _namespace = NetworkNamespace.Existing(ns);
        _peers.Add(_namespace.Start(["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", $"--interface={Tap}",
            "--bind-interfaces", $"--address=/svc.test/{Peer}", $"--pid-file={_directory}/dnsmasq.pid"]));
        _peers.Add(_namespace.Start(["python3", "-m", "http.server", "8000", "--bind", Peer, "--directory", _directory]));
        // HTTP/1.1, h2c, then HTTPS (bound after the certificate loads).
        _tool.WaitForLog("Kestrel listening on .*:443", start);
    }

    /// <summary>A test CA (ca.pem) and a server certificate for the IP address <paramref name="ip"/> it signed (server.pem, server.key).</summary>
    internal static void MakeCertificates(string directory, string ip)
    {
        const string Script = """
            set -e
            cd "$1"
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=unisharp-test-ca
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj "/CN=$2"
            printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$2" > server.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
            """;
        HostCommand.Run("bash", ["-c", Script, "make-certificates", directory, ip], TimeSpan.FromSeconds(60)).EnsureSuccess("make the test certificates");
    }

    public void Dispose()
    {
        foreach (var peer in _peers)
        {
            if (!peer.HasExited)
            {
                peer.Kill();
            }
            peer.WaitForExit();
            peer.Dispose();
        }
        _tool?.Dispose();
        // The tool deletes its namespace as it ends; should it have been killed instead, nothing of it is left behind.
        if (_namespace is not null && HostCommand.Run("ip", ["netns", "list"]).Stdout.Split('\n').Any(line => line.Split(' ')[0] == _namespace.Name))
        {
            PeerApp.KillAllIn(_namespace);
            HostCommand.Run("ip", ["netns", "delete", _namespace.Name]);
        }
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
