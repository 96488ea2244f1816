using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Unisharp.Cli.Images;
using Unisharp.Cli.MicroVm;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// <c>unisharp run --gdb[=PORT]</c>: QEMU's arguments and the printed gdb command without booting, the command-line
/// errors, and one real session: Debian's gdb, with exactly the printed command, stops in examples/hello's code.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class GdbTests
{
    private static MicroVmLaunch Launch(string target) => new() { Target = target, Kernel = "/k", Initrd = "/i" };

    [Theory]
    [InlineData("qemu")]
    [InlineData("firecracker")]
    public void GdbPort_Set_StubOnLoopbackVmStoppedAddressesFixed(string target)
    {
        var launch = Launch(target) with { GdbPort = 4321 };

        var arguments = launch.QemuArguments().ToList();
        int gdb = arguments.IndexOf("-gdb");
        Assert.True(gdb >= 0, string.Join(' ', arguments));
        Assert.Equal("tcp:127.0.0.1:4321", arguments[gdb + 1]);
        Assert.Contains("-S", arguments);
        Assert.Contains("nokaslr", launch.KernelWords());
        Assert.Contains("norandmaps", launch.KernelWords());
        // The kernel's words, not the app's.
        Assert.Contains("norandmaps", arguments[arguments.IndexOf("-append") + 1]);
        Assert.DoesNotContain("norandmaps", launch.AppArguments());
    }

    [Fact]
    public void GdbSocket_QemuInANamespace_StubOnTheUnixSocketInstead()
    {
        var launch = Launch("qemu") with { GdbPort = 4321, GdbSocket = "/tmp/a,b.sock", Tap = "tap0" };

        var arguments = launch.QemuArguments().ToList();
        Assert.Equal("unix:/tmp/a,,b.sock,server=on,wait=off", arguments[arguments.IndexOf("-gdb") + 1]);
        Assert.DoesNotContain(arguments, a => a.Contains("tcp:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("qemu")]
    [InlineData("firecracker")]
    public void GdbPort_Unset_NoStubAddressesRandomized(string target)
    {
        var launch = Launch(target);

        Assert.DoesNotContain("-gdb", launch.QemuArguments());
        Assert.DoesNotContain("-S", launch.QemuArguments());
        Assert.DoesNotContain("nokaslr", launch.KernelWords());
        Assert.DoesNotContain("norandmaps", launch.KernelWords());
    }

    [Fact]
    public void Command_WithKernelSymbols_RemoteOnLoopbackAppSymbolsAtThePieBase()
    {
        string command = GdbSession.Command("/k/vmlinux.full", "/img/hello.qemu/init.dbg", 4321);

        Assert.Equal("gdb -q /k/vmlinux.full -ex 'target remote 127.0.0.1:4321' -ex 'set confirm off' " +
            "-ex 'add-symbol-file /img/hello.qemu/init.dbg -o 0x555555554000' -ex 'set confirm on'", command);
    }

    [Fact]
    public void Command_NoKernelSymbolsPathWithSpace_AppOnlyQuotedForShellAndGdb()
    {
        string command = GdbSession.Command(null, "/my apps/init.dbg", 1234);

        Assert.Equal("gdb -q -ex 'target remote 127.0.0.1:1234' -ex 'set confirm off' " +
            "-ex 'add-symbol-file \"/my apps/init.dbg\" -o 0x555555554000' -ex 'set confirm on'", command);
    }

    [Theory]
    [InlineData(null, 1234)]
    [InlineData("", 1234)]
    [InlineData("1", 1)]
    [InlineData("65535", 65535)]
    public void ParsePort_GivenOrDefault_ThePort(string? value, int port) => Assert.Equal(port, GdbSession.ParsePort(value));

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("-5")]
    [InlineData("abc")]
    public void ParsePort_NotAPort_UsageError(string value)
    {
        var error = Assert.Throws<CliException>(() => GdbSession.ParsePort(value));
        Assert.Equal($"invalid --gdb '{value}': a TCP port, 1 to 65535", error.Message);
        Assert.Equal(CliException.Usage, error.ExitCode);
    }

    [Fact]
    public void ElfBuildId_HostProgram_SameAsReadelfFromSectionsOrSegments()
    {
        string program = "/bin/ls";
        var readelf = HostCommand.Run("readelf", ["-n", program]);
        string expected = readelf.Stdout.Split('\n').Single(l => l.Contains("Build ID:", StringComparison.Ordinal)).Split(':')[1].Trim();
        byte[] elf = File.ReadAllBytes(program);

        Assert.Equal(expected, ElfBuildId.Read(elf));
        // Without section headers (as the image's compacted vmlinux), from the PT_NOTE segment.
        elf[60] = 0;
        elf[61] = 0;
        Assert.Equal(expected, ElfBuildId.Read(elf));
    }

    [Fact]
    public void Help_Run_DescribesGdbForTheMicroVmTargets()
    {
        var result = Unisharp.Run("run", "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--gdb <PORT>", result.Stdout);
        Assert.Contains("qemu, firecracker (--gdb or --gdb=PORT): QEMU's gdbstub on 127.0.0.1:PORT [default: 1234]", result.Stdout);
    }

    /// <summary>On unix, --gdb says what it is for; given before the app's directory, it leaves the directory to the app.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Run_GdbOnUnix_SaysItIsForTheMicroVmTargets(bool gdbBeforeTheApp)
    {
        var result = gdbBeforeTheApp ? Unisharp.Run("run", "--gdb", Hello, "-t", "unix") : Unisharp.Run("run", Hello, "-t", "unix", "--gdb");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("unisharp: error: --gdb is for the microVM targets (qemu, firecracker); on unix run the executable under gdb itself", LastLine(result.Stderr));
    }

    [Fact]
    public void Run_GdbBadPort_OneLineUsageError()
    {
        var result = Unisharp.Run("run", Hello, "-t", "qemu", "--gdb=99999");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("unisharp: error: invalid --gdb '99999': a TCP port, 1 to 65535", LastLine(result.Stderr));
    }

    [Fact]
    public void Run_GdbPortInUse_ClearErrorBeforeBuilding()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var result = Unisharp.Run("run", Hello, "-t", "firecracker", $"--gdb={port}");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"unisharp: error: --gdb: port {port} on 127.0.0.1 is in use: choose another with --gdb=PORT", LastLine(result.Stderr));
        Assert.DoesNotContain("building hello", result.Stderr);
    }

    /// <summary>
    /// The whole session on qemu: the tool prints the gdb command once the stub listens; gdb in batch mode, with that
    /// command as printed, finds the VM at the reset vector, stops at a hardware breakpoint in hello's Program (as
    /// NativeAOT names it) with a backtrace naming it, then lets the VM run: hello says its lines, the tool returns its
    /// exit code, and no QEMU is left on the port.
    /// </summary>
    [MicroVmFact(NeedsGdb = true)]
    public void Qemu_GdbAsPrintedWithBreakpointOnHelloMain_HitNamedInBacktraceThenRunsToItsEnd()
    {
        string app = Unisharp.CopyExample("hello");
        int port = FreePort();
        Process? tool = null;
        try
        {
            tool = Unisharp.Start("run", app, "-t", "qemu", $"--gdb={port}", "--", "--count=2", "--interval-ms=10");
            var output = new ToolOutput(tool, "attach gdb with: ");
            string command = output.WaitForMarked(TimeSpan.FromMinutes(15));
            Assert.Contains($"target remote 127.0.0.1:{port}", command);

            // The symbols gdb is given are those of the image's /init.
            string image = Path.Combine(app, "dist", "hello.qemu");
            string init = Path.Combine(app, "init.extracted");
            var extract = HostCommand.Run("bash", ["-c", "set -o pipefail; lz4 -dc \"$1\" | cpio -i --quiet --to-stdout init > \"$2\"", "bash",
                Path.Combine(image, "initrd"), init], TimeSpan.FromSeconds(60));
            Assert.True(extract.ExitCode == 0, extract.Stderr);
            Assert.NotNull(ElfBuildId.Read(init));
            Assert.Equal(ElfBuildId.Read(init), ElfBuildId.Read(Path.Combine(image, MicroVmImage.SymbolsName)));

            var gdb = HostCommand.Run("bash", ["-c", command + " -batch -ex 'hbreak hello_Program___Main__' -ex continue -ex bt -ex delete -ex continue"],
                TimeSpan.FromMinutes(3));
            string session = gdb.Stdout + gdb.Stderr;
            // Stopped before the first instruction: the x86 reset vector.
            Assert.Contains("0x000000000000fff0 in ?? ()", session);
            Assert.Contains("Breakpoint 1, hello_Program___Main__", session);
            Assert.Matches(@"#0 +hello_Program___Main__ \(", session);

            Assert.True(tool.WaitForExit(TimeSpan.FromMinutes(2)), $"the tool did not end after gdb continued: {output.Stderr}\ngdb: {session}");
            tool.WaitForExit();
            Assert.True(tool.ExitCode == 0, $"exit {tool.ExitCode}: {output.Stderr}\ngdb: {session}");
            Assert.Equal(2, output.Console.Split('\n').Count(l => l.TrimEnd('\r').EndsWith("Hello", StringComparison.Ordinal)));
            AssertNothingLeftOn(port);

            // gdb's kill ends the VM where it stands (here at the reset vector) and the tool with 137, as a killed process.
            tool.Dispose();
            tool = Unisharp.Start("run", app, "-t", "qemu", "--no-build", $"--gdb={port}");
            string killer = WaitForLine(tool.StandardError, "attach gdb with: ");
            var kill = HostCommand.Run("bash", ["-c", killer[killer.IndexOf("gdb -q", StringComparison.Ordinal)..] + " -batch -ex kill"], TimeSpan.FromMinutes(1));
            Assert.Contains("killed", kill.Stdout + kill.Stderr);
            Assert.True(tool.WaitForExit(TimeSpan.FromSeconds(30)), "the tool did not end after gdb's kill");
            Assert.Equal(137, tool.ExitCode);
            Assert.Contains("gdb killed the VM", tool.StandardError.ReadToEnd());
            AssertNothingLeftOn(port);
        }
        finally
        {
            ToolOutput.Stop(tool);
            tool?.Dispose();
            Unisharp.DeleteScratch(app);
        }
    }

    /// <summary>No QEMU left with a stub on <paramref name="port"/>, and the port free again.</summary>
    private static void AssertNothingLeftOn(int port)
    {
        Assert.Equal(1, HostCommand.Run("pgrep", ["-f", $"tcp:127.0.0.1:{port}"]).ExitCode);
        using var again = new TcpListener(IPAddress.Loopback, port);
        again.Start();
    }

    private static string WaitForLine(StreamReader reader, string text)
    {
        while (reader.ReadLine() is { } line)
        {
            if (line.Contains(text, StringComparison.Ordinal))
            {
                return line;
            }
        }
        throw new InvalidOperationException($"no line with '{text}' before the end");
    }

    private static string Hello => Path.Combine(Unisharp.Root, "examples", "hello");

    /// <summary>The verb's own error, after any line of the launcher's (building the tool).</summary>
    private static string LastLine(string stderr) => stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() ?? "";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
