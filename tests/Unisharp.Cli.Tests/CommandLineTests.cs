namespace Unisharp.Cli.Tests;

/// <summary>The tool's own command line: help on every verb, one-line errors with exit code 2.</summary>
[Collection(CliCollection.Name)]
public sealed class CommandLineTests
{
    [Fact]
    public void Help_Root_ListsEveryVerb()
    {
        var result = Unisharp.Run("--help");
        Assert.Equal(0, result.ExitCode);
        foreach (string verb in (string[])["configure", "build", "run", "clean", "targets"])
        {
            Assert.Contains(verb, result.Stdout);
        }
    }

    [Theory]
    [InlineData("configure", "--target")]
    [InlineData("build", "--force")]
    [InlineData("run", "--no-build")]
    [InlineData("run", "--publish")]
    [InlineData("configure", "--publish")]
    [InlineData("clean", "app-dir")]
    [InlineData("targets", "List the targets")]
    public void Help_EachVerb_DescribesItsOptions(string verb, string expected)
    {
        var result = Unisharp.Run(verb, "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains(expected, result.Stdout);
    }

    [Theory]
    [InlineData(new[] { "build", "examples/hello", "-t", "vmware" }, "unisharp: error: unknown target 'vmware': choose unix, qemu, firecracker")]
    [InlineData(new[] { "run", "examples/hello", "-t", "qemu", "--net", "socket" }, "unisharp: error: --net socket is for the unix target: a microVM has no host sockets, use --net tap:NAME")]
    [InlineData(new[] { "run", "examples/hello", "-t", "firecracker", "--mem", "8" }, "unisharp: error: invalid --mem 8: a microVM needs 64 to 65536 MiB")]
    [InlineData(new[] { "frobnicate" }, "unisharp: error: Unrecognized command or argument 'frobnicate'. (see 'unisharp --help')")]
    [InlineData(new[] { "build", "no/such/app" }, "unisharp: error: app directory 'no/such/app' does not exist")]
    [InlineData(new[] { "run", "examples/hello", "--net", "wifi" }, "unisharp: error: invalid --net 'wifi': expected tap:NAME (NAME up to 15 characters) or socket")]
    [InlineData(new[] { "run", "examples/hello", "--disk", "nodisk" }, "unisharp: error: invalid --disk 'nodisk': expected NAME=PATH, e.g. --disk 0=disk0.img")]
    [InlineData(new[] { "run", "examples/hello", "-t", "qemu", "--file", "etc/a=/etc/hostname" },
        "unisharp: error: invalid --file 'etc/a=/etc/hostname': the path in the guest must be absolute, e.g. /etc/tls/server.pem")]
    [InlineData(new[] { "build", "examples/hello", "-t", "qemu", "--file", "/etc/a=/nope/a.pem" }, "unisharp: error: invalid --file '/etc/a=/nope/a.pem': /nope/a.pem does not exist")]
    [InlineData(new[] { "run", "examples/hello", "-t", "unix", "--file", "/etc/a=/etc/hostname" },
        "unisharp: error: --file puts files into a microVM image (qemu, firecracker); a unix app reads the host's files itself")]
    public void BadCommandLine_OneLineErrorExit2(string[] arguments, string message)
    {
        var result = HostRun(arguments);
        Assert.Equal(2, result.ExitCode);
        Assert.Equal(message, result.Stderr.Trim());
    }

    [Fact]
    public void Configure_DiskPathMissing_Exit2NamingThePathAndWritesNothing()
    {
        string app = Unisharp.CopyExample("hello");
        try
        {
            var result = Unisharp.Run("configure", app, "-t", "unix", "--disk", "0=/nope/disk.img:ro");
            Assert.Equal(2, result.ExitCode);
            Assert.Equal("unisharp: error: invalid --disk '0=/nope/disk.img:ro': /nope/disk.img does not exist", FilterBuildNotice(result.Stderr).Trim());
            Assert.False(File.Exists(Path.Combine(app, "unisharp.json")));

            // A block device is not a regular file, and is accepted as a disk all the same (only recorded here).
            string device = (Directory.Exists("/sys/block") ? Directory.GetFileSystemEntries("/sys/block") : [])
                .Select(e => "/dev/" + Path.GetFileName(e)).FirstOrDefault(File.Exists) ?? "/dev/null";
            var configured = Unisharp.Run("configure", app, "-t", "unix", "--disk", $"0={device}");
            Assert.True(configured.ExitCode == 0, configured.Stderr);
        }
        finally
        {
            Unisharp.DeleteScratch(app);
        }
    }

    [Fact]
    public void Targets_SaysWhichAreAvailable()
    {
        var result = Unisharp.Run("targets");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"unix\s+available", result.Stdout);
        Assert.Matches(@"qemu\s+available", result.Stdout);
        Assert.Matches(@"firecracker\s+available", result.Stdout);
    }

    // Relative app paths are resolved from the repository root, as a user running ./unisharp there would.
    private static Testing.HostCommand.Result HostRun(string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Unisharp.Launcher)
        {
            WorkingDirectory = Unisharp.Root,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = System.Diagnostics.Process.Start(start)!;
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return new Testing.HostCommand.Result(process.ExitCode, stdout, FilterBuildNotice(stderr));
    }

    // The launcher says once that it is building the tool; that line is not the verb's error.
    private static string FilterBuildNotice(string stderr) =>
        string.Join('\n', stderr.Split('\n').Where(l => !l.StartsWith("unisharp: building the unisharp tool", StringComparison.Ordinal)));
}
