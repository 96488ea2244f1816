using System.Diagnostics;
using System.Security.Cryptography;
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
        string log = Fetch("usdns0", [], ["--ipv4=198.18.9.2/24", $"--dns={Host}"], out string expected);

        Assert.Contains($"svc.test is {Host}", log);
        Assert.Contains($"fetched http://svc.test:8000/file: {FileBytes} bytes, sha256 {expected}", log);
    }

    [RequiresNamespacesFact]
    public void Fetch_DnsServerFromDhcp_BodySha256Matches()
    {
        string log = Fetch("usdns1", ["--dhcp-range=198.18.9.50,198.18.9.50,255.255.255.0,2m", "--dhcp-authoritative"], [], out string expected);

        Assert.Contains($"DNS {Host}", log);
        Assert.Contains($"fetched http://svc.test:8000/file: {FileBytes} bytes, sha256 {expected}", log);
    }

    /// <summary>
    /// Runs the fetch in a fresh namespace; once the tool has made the TAP, addresses its host side and starts dnsmasq
    /// and http.server on it (the app retries until they answer). Returns the tool's output once it has exited with 0.
    /// </summary>
    private string Fetch(string tap, string[] dnsmasqExtra, string[] boot, out string expectedSha256)
    {
        string app = PublishTests.AppDirectory(examples.Executable("fetch"));
        string root = Path.Combine(Path.GetTempPath(), $"unisharp-fetch-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        byte[] content = new byte[FileBytes];
        new Random(9).NextBytes(content);
        File.WriteAllBytes(Path.Combine(root, "file"), content);
        expectedSha256 = Convert.ToHexStringLower(SHA256.HashData(content));
        using var ns = NetworkNamespace.Create();
        var peers = new List<Process>();
        try
        {
            using var tool = PeerApp.StartTool(["run", app, "-t", "unix", "--no-build", "--net", $"tap:{tap}", "--netns", ns.Name, "--",
                .. boot, "--url=http://svc.test:8000/file", "--attempts=60"]);
            var clock = Stopwatch.StartNew();
            while (ns.Exec("ip", "link", "show", tap).ExitCode != 0)
            {
                Assert.False(tool.HasExited || clock.Elapsed > TimeSpan.FromSeconds(60), $"no TAP {tap}:\n{tool.Log}");
                Thread.Sleep(100);
            }
            ns.Exec("ip", "addr", "add", $"{Host}/24", "dev", tap).EnsureSuccess("address the host side");
            peers.Add(StartIn(ns, ["dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", $"--interface={tap}",
                "--bind-interfaces", $"--address=/svc.test/{Host}", $"--dhcp-leasefile={Path.Combine(root, "leases")}", .. dnsmasqExtra]));
            peers.Add(StartIn(ns, ["python3", "-m", "http.server", "8000", "--bind", Host, "--directory", root]));

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

    private static Process StartIn(NetworkNamespace ns, string[] command)
    {
        var start = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in (string[])["netns", "exec", ns.Name, .. command])
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
