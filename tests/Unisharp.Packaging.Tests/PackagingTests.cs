using System.IO.Compression;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Unisharp.Packaging.Tests;

/// <summary>
/// From zero to a unikernel with nothing but the packages: the template's app publishes for unix and runs, its tests
/// pass, it publishes as qemu and firecracker images that boot, and the tool installs from the feed.
/// </summary>
public sealed class PackagingTests(PackagedFeed feed) : IClassFixture<PackagedFeed>
{
    private static readonly TimeSpan Publish = TimeSpan.FromMinutes(8);

    [Fact]
    public void FeedHasEveryPackageAtOneVersion()
    {
        foreach (string id in new[] { "Unisharp", "Unisharp.Net", "Unisharp.Block", "Unisharp.AspNetCore", "Unisharp.Linux", "Unisharp.Targets.Unix", "Unisharp.Targets.MicroVm",
            "Unisharp.Sdk", "Unisharp.Templates", "Unisharp.Cli" })
        {
            Assert.True(File.Exists(feed.Package(id)), $"{id} {feed.Version} is not in the feed");
        }
        using var sdk = ZipFile.OpenRead(feed.Package("Unisharp.Sdk"));
        var entries = sdk.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("Sdk/Sdk.props", entries);
        Assert.Contains("Sdk/Sdk.targets", entries);
        Assert.Contains("msbuild/Unisharp.App.targets", entries);
        Assert.Contains("tools/unisharp/unisharp.dll", entries);
        using var version = new StreamReader(sdk.GetEntry("Sdk/Unisharp.Sdk.Version.props")!.Open());
        Assert.Contains(feed.Version, version.ReadToEnd(), StringComparison.Ordinal);
        if (feed.HasKernel)
        {
            using var kernel = ZipFile.OpenRead(feed.Package("Unisharp.Kernel.x86_64"));
            var files = kernel.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Superset(new HashSet<string> { "kernel/bzImage", "kernel/vmlinux", "kernel/config", "kernel/build-hash" }, files);
        }
    }

    [Fact]
    public void TemplateAppPublishesForUnixAndServes()
    {
        Dotnet.Run("dotnet", feed.Demo, Publish, "publish", "Demo", "-p:UnisharpTarget=unix").Ensure("dotnet publish -p:UnisharpTarget=unix");
        string executable = Path.Combine(feed.Demo, "Demo", "bin", "Release", "net10.0", "linux-x64", "publish", "Demo");
        Assert.True(File.Exists(executable), $"no unikernel at {executable}");
        // An ELF executable: the app, its stack and the unix target compiled together.
        Assert.Equal("\u007fELF"u8.ToArray(), File.ReadAllBytes(executable)[..4]);

        int port = FreePort();
        using var app = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(executable)
        {
            ArgumentList = { "--net", "socket", $"--port={port}", "--name=Ada" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        try
        {
            string greeting = ReadGreeting(port, TimeSpan.FromSeconds(20));
            Assert.StartsWith("Hello, Ada! You are 127.0.0.1:", greeting, StringComparison.Ordinal);
        }
        finally
        {
            app.Kill();
            app.WaitForExit();
        }
    }

    [Fact]
    public void TemplateTestsPass()
    {
        var result = Dotnet.Run("dotnet", feed.Demo, Publish, "test", "Demo.Tests").Ensure("dotnet test Demo.Tests");
        Assert.Contains("Passed!", result.Output, StringComparison.Ordinal);
    }

    [KernelFact]
    public void TemplateAppPublishesMicroVmImages()
    {
        Dotnet.Run("dotnet", feed.Demo, Publish, "publish", "Demo", "-p:UnisharpTarget=qemu").Ensure("dotnet publish -p:UnisharpTarget=qemu");
        string qemu = Path.Combine(feed.Demo, "Demo", "bin", "Release", "net10.0", "linux-x64", "publish", "Demo.qemu");
        Assert.True(File.Exists(Path.Combine(qemu, "vmlinux")), $"no kernel in {qemu}");
        Assert.True(Directory.GetFiles(qemu, "initrd*").Length == 1, $"no initramfs in {qemu}");

        Dotnet.Run("dotnet", feed.Demo, Publish, "publish", "Demo", "-p:UnisharpTarget=firecracker").Ensure("dotnet publish -p:UnisharpTarget=firecracker");
        string fc = Path.Combine(feed.Demo, "Demo", "bin", "Release", "net10.0", "linux-x64", "publish", "Demo.fc");
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(fc, "firecracker.json")));
        var boot = config.RootElement.GetProperty("boot-source");
        Assert.True(File.Exists(Path.Combine(fc, boot.GetProperty("kernel_image_path").GetString()!)) || File.Exists(boot.GetProperty("kernel_image_path").GetString()!));
    }

    [Fact]
    public void UnsupportedArchitectureIsAClearBuildError()
    {
        var result = Dotnet.Run("dotnet", feed.Demo, Publish, "build", "Demo", "-p:UnisharpArch=arm64", "-p:RuntimeIdentifier=linux-x64");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("UnisharpArch 'arm64' is not supported yet", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void ToolInstallsFromTheFeed()
    {
        string tools = Path.Combine(feed.Work, "tools");
        Dotnet.Run("dotnet", feed.Apps, Publish, "tool", "install", "Unisharp.Cli", "--tool-path", tools, "--add-source", feed.Feed,
            "--version", feed.Version).Ensure("dotnet tool install Unisharp.Cli");
        string unisharp = Path.Combine(tools, "unisharp");
        var help = Dotnet.Run(unisharp, feed.Apps, TimeSpan.FromMinutes(1), "--help").Ensure("unisharp --help");
        Assert.Contains("configure", help.Output, StringComparison.Ordinal);
        var targets = Dotnet.Run(unisharp, feed.Apps, TimeSpan.FromMinutes(1), "targets").Ensure("unisharp targets");
        Assert.Contains("unix", targets.Output, StringComparison.Ordinal);

        // Outside any clone, the installed tool builds the template's app against the packages of its own version.
        Dotnet.Run(unisharp, feed.Demo, Publish, "build", "Demo", "-t", "unix").Ensure("unisharp build Demo -t unix");
        string built = Path.Combine(feed.Demo, "Demo", "dist", "Demo");
        Assert.True(File.Exists(built), $"unisharp build made no {built}");
        Assert.Equal("\u007fELF"u8.ToArray(), File.ReadAllBytes(built)[..4]);
    }

    /// <summary>
    /// <c>dotnet new unisharp-web</c> from the template pack, then the installed tool: <c>unisharp build</c> (NativeAOT, Kestrel
    /// on our stack from the packages) and <c>unisharp run --net socket</c>; curl gets the page and the JSON greeting with
    /// the client's address; SIGTERM stops it with 143.
    /// </summary>
    [Fact]
    public void WebTemplateBuildsWithTheToolRunsAndServes()
    {
        Dotnet.Run("dotnet", feed.Apps, TimeSpan.FromMinutes(3), "new", "unisharp-web", "-n", "Web", "--debug:custom-hive", feed.Hive)
            .Ensure("dotnet new unisharp-web");
        string tools = Path.Combine(feed.Work, "tools-web");
        Dotnet.Run("dotnet", feed.Apps, Publish, "tool", "install", "Unisharp.Cli", "--tool-path", tools, "--add-source", feed.Feed,
            "--version", feed.Version).Ensure("dotnet tool install Unisharp.Cli");
        string unisharp = Path.Combine(tools, "unisharp");

        Dotnet.Run(unisharp, feed.Apps, Publish, "build", "Web", "-t", "unix").Ensure("unisharp build Web -t unix");
        Assert.Equal("\u007fELF"u8.ToArray(), File.ReadAllBytes(Path.Combine(feed.Apps, "Web", "dist", "Web"))[..4]);

        int port = FreePort();
        using var run = System.Diagnostics.Process.Start(Dotnet.StartInfo(unisharp, feed.Apps, "run", "Web", "-t", "unix", "--no-build", "--net", "socket", "--",
            "--ipv4=127.0.0.1/8", $"--port={port}"))!;
        var log = new StringBuilder();
        run.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        run.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        run.BeginOutputReadLine();
        run.BeginErrorReadLine();
        try
        {
            string greeting = Curl($"http://127.0.0.1:{port}/api/greeting/Ada", TimeSpan.FromSeconds(30));
            Assert.True(greeting == """{"message":"Hello, Ada!","client":"127.0.0.1"}""", greeting + log);
            Assert.Equal("Hello from Web: ASP.NET Core on Unisharp", Curl($"http://127.0.0.1:{port}/", TimeSpan.FromSeconds(10)));

            Dotnet.Run("kill", feed.Apps, TimeSpan.FromSeconds(10), "-TERM", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).Ensure("kill -TERM");
            Assert.True(run.WaitForExit(TimeSpan.FromSeconds(20)), log.ToString());
            Assert.True(run.ExitCode == 143, $"exit {run.ExitCode}\n{log}");
        }
        finally
        {
            if (!run.HasExited)
            {
                run.Kill(entireProcessTree: true);
                run.WaitForExit();
            }
        }
    }

    /// <summary>curl's answer, asked again while the server is not listening yet.</summary>
    private static string Curl(string url, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var answer = Dotnet.Run("curl", "/", TimeSpan.FromSeconds(20), "-sS", "--fail", "--max-time", "10", url);
            if (answer.ExitCode == 0 || DateTime.UtcNow > deadline)
            {
                return answer.Ensure($"curl {url}").Output.TrimEnd('\n');
            }
            Thread.Sleep(300);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static string ReadGreeting(int port, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            try
            {
                using var client = new TcpClient("127.0.0.1", port);
                using var reader = new StreamReader(client.GetStream(), Encoding.UTF8);
                return reader.ReadToEnd();
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }
}
