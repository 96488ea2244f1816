using System.Diagnostics;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// examples/aspnet (ASP.NET Core's Kestrel through Unisharp.AspNetCore, NativeAOT) booted as a microVM through the tool,
/// curl in the namespace <c>unisharp run --net tap:NAME</c> makes: HTTP/1.1, h2c and HTTPS with a certificate put into
/// the image with <c>--file</c> on <c>qemu</c>; <c>firecracker</c> (QEMU's microvm) once, for its health. Under TCG, so
/// few requests and one boot each.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class AspNetMicroVmTests
{
    private static readonly TimeSpan s_buildAndBoot = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The image carries OpenSSL (the app's runtime opens it with dlopen) and the certificate and key given with
    /// <c>configure --file</c>; the boot arguments name them. Every answer comes from our stack in the guest.
    /// </summary>
    [MicroVmFact(NeedsNamespaces = true)]
    public void Qemu_AspNetPagesEchoH2cAndHttpsWithCertificateInTheImage_ServedFromTheGuest()
    {
        const string Guest = "198.18.15.2";
        string app = Unisharp.CopyExample("aspnet");
        string tls = Path.Combine(app, "tls");
        Process? tool = null;
        try
        {
            MakeCertificates(tls, Guest);
            var configure = Unisharp.Run("configure", app, "-t", "qemu", "--net", "tap:tap0",
                "--file", $"/etc/tls/server.pem={tls}/server.pem", "--file", $"/etc/tls/server.key={tls}/server.key",
                "--", $"--ipv4={Guest}/24", "--cert=/etc/tls/server.pem", "--key=/etc/tls/server.key");
            Assert.True(configure.ExitCode == 0, configure.Stderr);
            var build = Unisharp.Run(s_buildAndBoot, "build", app);
            Assert.True(build.ExitCode == 0, build.Stderr + build.Stdout);
            var names = InitrdNames(Path.Combine(build.Stdout.Trim(), "initrd"));
            Assert.Contains("etc/tls/server.pem", names);
            Assert.Contains("etc/tls/server.key", names);
            Assert.Contains(names, n => n.EndsWith("/libssl.so.3", StringComparison.Ordinal));
            Assert.Contains(names, n => n.EndsWith("/libcrypto.so.3", StringComparison.Ordinal));

            tool = Unisharp.Start("run", app, "--no-build");
            var (output, ns) = WaitForHealth(tool, Guest);

            Assert.Contains("Hello from ASP.NET Core on Unisharp", Curl(ns, $"http://{Guest}/"));
            Assert.Equal("""[{"id":1,"name":"Kestrel","price":0},{"id":2,"name":"TCP/IP stack in C#","price":0},{"id":3,"name":"NativeAOT","price":0}]""",
                Curl(ns, $"http://{Guest}/api/items"));
            var (body, sha256) = TestPattern.RandomFile(10L << 20);
            try
            {
                var echo = HostCommand.Run("ip", ["netns", "exec", ns, "bash", "-c",
                    $"set -o pipefail; curl -sS --fail --max-time 200 --data-binary @{body} -H 'Content-Type: application/octet-stream' http://{Guest}/api/echo | sha256sum"],
                    TimeSpan.FromSeconds(240));
                Assert.True(echo.ExitCode == 0, echo.Stderr + output.Console);
                Assert.StartsWith(sha256, echo.Stdout);
            }
            finally
            {
                File.Delete(body);
            }
            const long Large = 100L << 20;
            var bytes = HostCommand.Run("ip", ["netns", "exec", ns, "bash", "-c",
                $"set -o pipefail; curl -sS --fail --max-time 300 http://{Guest}/bytes/{Large} | sha256sum"], TimeSpan.FromSeconds(320));
            Assert.True(bytes.ExitCode == 0, bytes.Stderr + output.Console);
            Assert.StartsWith(TestPattern.Sha256(Large), bytes.Stdout);
            Assert.Matches(@"^198\.18\.15\.1:\d+ HTTP/2\n2$", Curl(ns, "--http2-prior-knowledge", "-w", "%{http_version}", $"http://{Guest}:8080/api/whoami"));
            Assert.Matches(@"^198\.18\.15\.1:\d+ HTTP/2\n2$",
                Curl(ns, "--cacert", Path.Combine(tls, "ca.pem"), "--http2", "-w", "%{http_version}", $"https://{Guest}/api/whoami"));

            HostCommand.Run("kill", ["-TERM", tool.Id.ToString()]);
            Assert.True(tool.WaitForExit(TimeSpan.FromSeconds(60)), "the tool did not stop after SIGTERM");
            Assert.Equal(143, tool.ExitCode);
            Assert.DoesNotContain(ns, HostCommand.Run("ip", ["netns", "list"]).Stdout);
        }
        finally
        {
            ToolOutput.Stop(tool);
            tool?.Dispose();
            Unisharp.DeleteScratch(app);
        }
    }

    /// <summary>The firecracker image (virtio-mmio on QEMU's microvm) built and booted by <c>unisharp run</c>: Kestrel answers /healthz.</summary>
    [MicroVmFact(NeedsNamespaces = true)]
    public void Firecracker_AspNetOnTap_HealthzFromTheGuest()
    {
        const string Guest = "198.18.16.2";
        string app = Unisharp.CopyExample("aspnet");
        Process? tool = null;
        try
        {
            var build = Unisharp.Run(s_buildAndBoot, "build", app, "-t", "firecracker");
            Assert.True(build.ExitCode == 0, build.Stderr + build.Stdout);
            Assert.True(File.Exists(Path.Combine(build.Stdout.Trim(), "firecracker.json")));

            tool = Unisharp.Start("run", app, "-t", "firecracker", "--no-build", "--net", "tap:tap0", "--", $"--ipv4={Guest}/24");
            var (_, ns) = WaitForHealth(tool, Guest);

            HostCommand.Run("kill", ["-TERM", tool.Id.ToString()]);
            Assert.True(tool.WaitForExit(TimeSpan.FromSeconds(60)), "the tool did not stop after SIGTERM");
            Assert.Equal(143, tool.ExitCode);
            Assert.DoesNotContain(ns, HostCommand.Run("ip", ["netns", "list"]).Stdout);
        }
        finally
        {
            ToolOutput.Stop(tool);
            tool?.Dispose();
            Unisharp.DeleteScratch(app);
        }
    }

    /// <summary>The namespace the tool made and the first "ok" from GET /healthz, which comes once the guest has booted and Kestrel listens.</summary>
    private static (ToolOutput Output, string Namespace) WaitForHealth(Process tool, string guest)
    {
        var output = new ToolOutput(tool, "reach the guest with: ");
        string ns = output.WaitForMarked(TimeSpan.FromMinutes(1)).Split(' ')[3];
        var clock = Stopwatch.StartNew();
        HostCommand.Result? health = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(120) && !tool.HasExited)
        {
            health = HostCommand.Run("ip", ["netns", "exec", ns, "curl", "-sS", "--max-time", "3", $"http://{guest}/healthz"], TimeSpan.FromSeconds(30));
            if (health is { ExitCode: 0, Stdout: "ok\n" })
            {
                return (output, ns);
            }
            Thread.Sleep(500);
        }
        Assert.Fail($"no answer from /healthz: {health?.Stderr}\n{output.Stderr}\n{output.Console}");
        return default;
    }

    /// <summary>A test CA and a server certificate for <paramref name="address"/> signed by it, as AspNetTests makes them.</summary>
    private static void MakeCertificates(string directory, string address)
    {
        Directory.CreateDirectory(directory);
        const string Make = """
            set -e
            cd "$1"
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=unisharp-test-ca
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj "/CN=$2"
            printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$2" > server.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
            """;
        HostCommand.Run("bash", ["-c", Make, "make-certificates", directory, address], TimeSpan.FromSeconds(60)).EnsureSuccess("make the test certificates");
    }

    private static string[] InitrdNames(string initrd)
    {
        var list = HostCommand.Run("bash", ["-c", "set -o pipefail; lz4 -dc \"$1\" | cpio -t --quiet", "bash", initrd], TimeSpan.FromSeconds(60));
        Assert.True(list.ExitCode == 0, list.Stderr);
        return list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static string Curl(string ns, params string[] arguments)
    {
        var result = HostCommand.Run("ip", ["netns", "exec", ns, "curl", "-sS", "--fail", "--max-time", "30", .. arguments], TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, $"curl {string.Join(' ', arguments)}: {result.Stderr}");
        return result.Stdout;
    }
}
