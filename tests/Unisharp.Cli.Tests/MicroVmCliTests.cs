using System.Diagnostics;
using System.Text.Json;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// <c>unisharp build</c> and <c>run</c> for the microVM targets: real NativeAOT builds, our kernel, real QEMU under
/// TCG. Few and short, since TCG is slow. Skipped, saying why, without QEMU or the kernel.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class MicroVmCliTests
{
    private static readonly TimeSpan s_buildAndBoot = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan s_boot = TimeSpan.FromMinutes(3);

    [MicroVmFact]
    public void Qemu_BuildAndRunHello_ImageFolderFourLinesExitCodesThroughTheVm()
    {
        string app = Unisharp.CopyExample("hello");
        try
        {
            var build = Unisharp.Run(s_buildAndBoot, "build", app, "-t", "qemu");
            Assert.True(build.ExitCode == 0, build.Stderr + build.Stdout);
            string image = Path.Combine(app, "dist", "hello.qemu");
            Assert.Equal(image, build.Stdout.Trim());
            Assert.True(new FileInfo(Path.Combine(image, "vmlinux")).Length > 500_000);
            AssertInitrdHoldsTheApp(Path.Combine(image, "initrd"));
            string launch = File.ReadAllText(Path.Combine(image, "launch.sh"));
            Assert.Contains("-M pc -bios bios-microvm.bin", launch.Replace(" \\\n  ", " ", StringComparison.Ordinal));
            Assert.StartsWith("console=ttyS0 ", File.ReadAllText(Path.Combine(image, "cmdline")));
            Assert.Contains("[ \"$accel\" = tcg ] && kernel_words=\"$kernel_words noapictimer\"", launch);

            var run = Unisharp.Run(s_boot, "run", app, "-t", "qemu", "--", "--interval-ms=10");
            Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
            Assert.Equal(4, CountLines(run.Stdout, "Hello"));
            Assert.Contains("is up to date", run.Stderr);

            // A bad boot argument stops the app with 2 inside the VM; the exit code crosses isa-debug-exit.
            var bad = Unisharp.Run(s_boot, "run", app, "-t", "qemu", "--no-build", "--", "--count=-3");
            Assert.Equal(2, bad.ExitCode);
            Assert.Equal(0, CountLines(bad.Stdout, "Hello"));
            Assert.Contains("invalid value '-3' for --count", bad.Stdout + bad.Stderr);

            // The launch script alone boots the image the same way, passing the app the arguments after its '--'.
            var direct = HostCommand.Run(Path.Combine(image, "launch.sh"), ["--", "--count=2", "--interval-ms=10"], s_boot);
            Assert.True(direct.ExitCode == 0, direct.Stderr + direct.Stdout);
            Assert.Equal(2, CountLines(direct.Stdout, "Hello"));
            var directBad = HostCommand.Run(Path.Combine(image, "launch.sh"), ["--", "--count", "-3"], s_boot);
            Assert.Equal(2, directBad.ExitCode);
        }
        finally
        {
            Unisharp.DeleteScratch(app);
        }
    }

    [MicroVmFact]
    public void Firecracker_BuildAndRunHello_ConfigNamesTheFilesAndMicrovmBoots()
    {
        string app = Unisharp.CopyExample("hello");
        try
        {
            string disk = Path.Combine(app, "data.img");
            File.WriteAllBytes(disk, new byte[1 << 20]);
            var configure = Unisharp.Run("configure", app, "-t", "firecracker", "--net", "tap:fc0", "--disk", $"data={disk}:ro", "--", "--interval-ms=10");
            Assert.True(configure.ExitCode == 0, configure.Stderr);

            var build = Unisharp.Run(s_buildAndBoot, "build", app);
            Assert.True(build.ExitCode == 0, build.Stderr + build.Stdout);
            string image = Path.Combine(app, "dist", "hello.fc");
            Assert.Equal(image, build.Stdout.Trim());
            AssertInitrdHoldsTheApp(Path.Combine(image, "initrd"));

            using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(image, "firecracker.json"))))
            {
                var root = json.RootElement;
                var boot = root.GetProperty("boot-source");
                Assert.Equal(Path.Combine(image, "vmlinux"), boot.GetProperty("kernel_image_path").GetString());
                Assert.True(File.Exists(boot.GetProperty("kernel_image_path").GetString()));
                Assert.True(File.Exists(boot.GetProperty("initrd_path").GetString()));
                string args = boot.GetProperty("boot_args").GetString()!;
                Assert.Contains("console=ttyS0", args);
                Assert.Contains("disk.data=vda:ro", args);
                // The app's arguments in their own word, never after a '--': Firecracker appends its devices at the end.
                Assert.EndsWith(" unisharp.args=--interval-ms=10", args);
                Assert.DoesNotContain(" -- ", args);
                Assert.Equal(1, root.GetProperty("machine-config").GetProperty("vcpu_count").GetInt32());
                Assert.Equal(256, root.GetProperty("machine-config").GetProperty("mem_size_mib").GetInt32());
                var drive = Assert.Single(root.GetProperty("drives").EnumerateArray());
                Assert.Equal("data", drive.GetProperty("drive_id").GetString());
                Assert.Equal(disk, drive.GetProperty("path_on_host").GetString());
                Assert.True(drive.GetProperty("is_read_only").GetBoolean());
                Assert.False(drive.GetProperty("is_root_device").GetBoolean());
                var nic = Assert.Single(root.GetProperty("network-interfaces").EnumerateArray());
                Assert.Equal("fc0", nic.GetProperty("host_dev_name").GetString());
                Assert.Equal("eth0", nic.GetProperty("iface_id").GetString());
            }
            string launch = File.ReadAllText(Path.Combine(image, "launch.sh")).Replace(" \\\n  ", " ", StringComparison.Ordinal);
            Assert.Contains("-M microvm", launch);
            Assert.Contains("virtio-blk-device", launch);
            Assert.Contains("virtio-net-device", launch);

            // The run itself without devices: hello needs none, and the namespace is then not needed.
            var reconfigure = Unisharp.Run("configure", app, "-t", "firecracker", "--", "--interval-ms=10");
            Assert.True(reconfigure.ExitCode == 0, reconfigure.Stderr);
            var run = Unisharp.Run(s_boot, "run", app);
            Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
            Assert.Equal(4, CountLines(run.Stdout, "Hello"));
            Assert.Contains("is up to date", run.Stderr);
            Assert.DoesNotContain("without handing over an exit code", run.Stderr);
            // The microvm machine has no PCI: no "PCI: Fatal: No config space access function found" on its console.
            Assert.DoesNotContain("PCI", run.Stdout);

            // A bad boot argument is exit code 2 through the microvm machine too.
            var bad = Unisharp.Run(s_boot, "run", app, "--no-build", "--", "--count=-3");
            Assert.True(bad.ExitCode == 2, $"exit {bad.ExitCode}: {bad.Stderr}{bad.Stdout}");
        }
        finally
        {
            Unisharp.DeleteScratch(app);
        }
    }

    /// <summary>
    /// echo on qemu with <c>--net tap:NAME</c>: the tool makes a namespace with the TAP, says how to reach the guest,
    /// Linux ping, TCP and UDP get answers from our stack in the VM, --pcap records them, and SIGTERM stops the VM and
    /// deletes the namespace; then the image's launch.sh, on a TAP in a namespace of the test's.
    /// </summary>
    [MicroVmFact(NeedsNamespaces = true)]
    public void Qemu_EchoOnTap_AnswersPingTcpUdpFromTheNamespaceAndCleansUp() => EchoOnTap("qemu", subnet: 7);

    /// <summary>
    /// The same on firecracker (QEMU's microvm, virtio-mmio), whose card the kernel only finds through the
    /// <c>virtio_mmio.device=</c> word QEMU appends to the command line: it must not land among the app's arguments.
    /// </summary>
    [MicroVmFact(NeedsNamespaces = true)]
    public void Firecracker_EchoOnTap_AnswersPingTcpUdpFromTheNamespaceAndCleansUp() => EchoOnTap("firecracker", subnet: 8);

    private static void EchoOnTap(string target, int subnet)
    {
        string app = Unisharp.CopyExample("echo");
        string pcap = Path.Combine(app, "guest.pcap");
        string guest = $"198.18.{subnet}.2";
        Process? tool = null;
        try
        {
            var build = Unisharp.Run(s_buildAndBoot, "build", app, "-t", target);
            Assert.True(build.ExitCode == 0, build.Stderr + build.Stdout);

            tool = Unisharp.Start("run", app, "-t", target, "--no-build", "--net", "tap:tap0", "--pcap", pcap, "--", $"--ipv4={guest}/24");
            var output = new ToolOutput(tool, "reach the guest with: ");
            string[] command = output.WaitForMarked(TimeSpan.FromMinutes(1)).Split(' ');
            Assert.Equal(["ip", "netns", "exec"], command[..3]);
            string ns = command[3];
            Assert.Equal(["ping", guest], command[4..]);
            Assert.Contains($"host side 198.18.{subnet}.1/24", output.Stderr);

            // The guest needs a few seconds under TCG to boot and configure its address.
            HostCommand.Result? ping = null;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(90) && !tool.HasExited)
            {
                ping = HostCommand.Run("ip", ["netns", "exec", ns, "ping", "-c", "2", "-W", "5", guest], TimeSpan.FromSeconds(30));
                if (ping.ExitCode == 0)
                {
                    break;
                }
            }
            Assert.True(ping is { ExitCode: 0 }, $"no answer to ping: {ping?.Stdout}\n{output.Stderr}\n{output.Console}");
            // ping exits 0 once a reply came; the first request can go while the guest is still starting its stack.
            Assert.Matches(@"[12] received", ping!.Stdout);

            // TCP through our stack in the VM: the echo comes back byte for byte. The card offers its offloads, as
            // Firecracker's does: the host's frames reach the guest with partial checksums, TCP in large segments.
            var random = new Random(5);
            string text = new(Enumerable.Range(0, 48 * 1024).Select(i => i % 64 == 63 ? '\n' : (char)random.Next('!', '~')).ToArray());
            var echo = HostCommand.Run("ip", ["netns", "exec", ns, "nc", "-N", "-w", "20", guest, "7"], TimeSpan.FromSeconds(90),
                System.Text.Encoding.ASCII.GetBytes(text));
            Assert.True(echo.ExitCode == 0, $"nc failed: {echo.Stderr}");
            Assert.True(text == echo.Stdout, $"the echo differs: sent {text.Length} characters, got {echo.Stdout.Length}");
            // UDP: one datagram out, the same one back; nc gives up 5 s after its input ends.
            var udp = HostCommand.Run("ip", ["netns", "exec", ns, "nc", "-u", "-w", "5", guest, "7"], TimeSpan.FromSeconds(30), "hello over udp\n"u8.ToArray());
            Assert.Equal("hello over udp\n", udp.Stdout);

            HostCommand.Run("kill", ["-TERM", tool.Id.ToString()]);
            Assert.True(tool.WaitForExit(TimeSpan.FromSeconds(30)), "the tool did not stop after SIGTERM");
            Assert.Equal(143, tool.ExitCode);
            Assert.DoesNotContain(ns, HostCommand.Run("ip", ["netns", "list"]).Stdout);

            var read = HostCommand.Run("tcpdump", ["-n", "-r", pcap], TimeSpan.FromSeconds(30));
            Assert.Contains($"{guest} > 198.18.{subnet}.1: ICMP echo reply", read.Stdout);
            Assert.Contains("offload: checksum, TCP segmentation", output.Console);

            EchoThroughLaunchScript(Path.Combine(app, "dist", target == "qemu" ? "echo.qemu" : "echo.fc"), subnet + 100);
        }
        finally
        {
            // SIGTERM first, so that the tool deletes its namespace; SIGKILL would leave it behind.
            ToolOutput.Stop(tool);
            tool?.Dispose();
            Unisharp.DeleteScratch(app);
        }
    }

    /// <summary>
    /// The image's launch.sh run as its usage says, inside a namespace with a TAP: <c>--net tap:NAME</c> gives the card and
    /// the arguments after <c>--</c> reach the app (an address, one connection and out). Without a card the app says how to give one.
    /// </summary>
    private static void EchoThroughLaunchScript(string image, int subnet)
    {
        string launch = Path.Combine(image, "launch.sh");
        string guest = $"198.18.{subnet}.2";
        using var ns = NetworkNamespace.Create("usls");
        ns.Exec("ip", "tuntap", "add", "tapl", "mode", "tap").EnsureSuccess("add tapl");
        ns.Exec("ip", "addr", "add", $"198.18.{subnet}.1/24", "dev", "tapl").EnsureSuccess("address tapl");
        ns.Exec("ip", "link", "set", "tapl", "up").EnsureSuccess("tapl up");

        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (string argument in (string[])["netns", "exec", ns.Name, launch, "--net", "tap:tapl", "--", $"--ipv4={guest}/24", "--connections=1"])
        {
            start.ArgumentList.Add(argument);
        }
        using var vm = Process.Start(start)!;
        var output = vm.StandardOutput.ReadToEndAsync();
        var errors = vm.StandardError.ReadToEndAsync();
        try
        {
            HostCommand.Result? tcp = null;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(90) && !vm.HasExited)
            {
                // The guest's ARP answer comes once its stack is up; until then nc cannot connect.
                if (ns.Exec(TimeSpan.FromSeconds(30), "ping", "-c", "1", "-W", "3", guest).ExitCode == 0)
                {
                    tcp = HostCommand.Run("ip", ["netns", "exec", ns.Name, "nc", "-N", "-w", "20", guest, "7"], TimeSpan.FromSeconds(60), "through launch.sh\n"u8.ToArray());
                    break;
                }
            }
            Assert.True(tcp is not null, $"launch.sh: the guest never answered ping\n{(vm.HasExited ? output.Result + errors.Result : "")}");
            Assert.Equal("through launch.sh\n", tcp!.Stdout);
            // --connections=1: echo exits after it, and the script hands over its exit code.
            Assert.True(vm.WaitForExit(TimeSpan.FromSeconds(60)), "launch.sh did not end after the one connection");
            Assert.True(vm.ExitCode == 0, $"launch.sh exit {vm.ExitCode}: {output.Result}{errors.Result}");
            Assert.Contains("echoed 1 connection(s): exiting", output.Result + errors.Result);
        }
        finally
        {
            if (!vm.HasExited)
            {
                vm.Kill(entireProcessTree: true);
            }
        }

        // No card: the app fails at once, naming the fix.
        var none = ns.Exec(TimeSpan.FromSeconds(90), launch, "--net", "none", "--", $"--ipv4={guest}/24");
        Assert.NotEqual(0, none.ExitCode);
        Assert.Contains("no network interface 'eth0' in the guest (the VM needs a network card: 'unisharp run --net tap:NAME', 'launch.sh --net tap:NAME'", none.Stdout + none.Stderr);
    }

    /// <summary>
    /// block-copy on qemu with two disks, configured (read-only source) and given on the command line: byte-exact
    /// through <c>unisharp run</c> and the image's launch.sh, and a destination on a full host file system fails.
    /// </summary>
    [MicroVmFact]
    public void Qemu_BlockCopyTwoDisks_ByteExactAndFullDiskFails() => BlockCopyTwoDisks("qemu");

    /// <summary>
    /// The same on firecracker (QEMU's microvm, virtio-mmio), whose disks the kernel only finds through the
    /// <c>virtio_mmio.device=</c> words QEMU appends to the command line.
    /// </summary>
    [MicroVmFact]
    public void Firecracker_BlockCopyTwoDisks_ByteExactAndFullDiskFails() => BlockCopyTwoDisks("firecracker");

    private static void BlockCopyTwoDisks(string target)
    {
        string app = Unisharp.CopyExample("block-copy");
        string disks = Path.Combine(app, "disks");
        string full = Path.Combine(app, "full");
        Directory.CreateDirectory(disks);
        Directory.CreateDirectory(full);
        try
        {
            string source = Path.Combine(disks, "source.img");
            string destination = Path.Combine(disks, "destination.img");
            File.WriteAllBytes(source, RandomBytes(8 << 20, seed: 1));
            File.WriteAllBytes(destination, RandomBytes(8 << 20, seed: 2));
            string expected = Sha256(source);
            var configure = Unisharp.Run("configure", app, "-t", target, "--disk", $"0={source}:ro", "--disk", $"1={destination}", "--", "--buffsize=50", "--parallel=true");
            Assert.True(configure.ExitCode == 0, configure.Stderr);
            var build = Unisharp.Run(s_buildAndBoot, "build", app);
            Assert.True(build.ExitCode == 0, build.Stderr + build.Stdout);

            var run = Unisharp.Run(s_boot, "run", app, "--no-build");
            Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}{run.Stdout}");
            Assert.Contains("done: ", run.Stdout);
            Assert.Equal(expected, Sha256(destination));

            // The image's launch.sh has the same disks; the arguments after its '--' follow the configured ones.
            File.WriteAllBytes(destination, RandomBytes(8 << 20, seed: 3));
            var launch = HostCommand.Run(Path.Combine(build.Stdout.Trim(), "launch.sh"), ["--", "--buffsize=7", "--parallel=false"], s_boot);
            Assert.True(launch.ExitCode == 0, $"exit {launch.ExitCode}: {launch.Stderr}{launch.Stdout}");
            Assert.Contains("done: ", launch.Stdout);
            Assert.Equal(expected, Sha256(destination));

            // A destination on a host file system that fills up (1 MiB of tmpfs, mounted in a mount namespace of the run's
            // own, gone with it): the guest sees the write error and block-copy fails, where QEMU's default paused the VM.
            var clock = Stopwatch.StartNew();
            var fail = HostCommand.Run("unshare", ["-m", "sh", "-c",
                "mount -t tmpfs -o size=1m tmpfs \"$1\" && truncate -s 8M \"$1/destination.img\" && exec \"$2\" run \"$3\" --no-build --disk \"0=$4:ro\" --disk \"1=$1/destination.img\"",
                "sh", full, Unisharp.Launcher, app, source], s_boot);
            Assert.True(fail.ExitCode is not 0, $"block-copy onto a full disk succeeded: {fail.Stderr}{fail.Stdout}");
            Assert.Contains("I/O error", fail.Stdout);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(120), $"took {clock.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            Unisharp.DeleteScratch(app);
        }
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    [Fact]
    public void Build_KernelDirectoryWithoutKernel_ClearErrorBeforeBuilding()
    {
        var result = RunWith(("UNISHARP_KERNEL_DIR", "/nonexistent/kernel"), "build", "examples/hello", "-t", "qemu");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("unisharp: error: UNISHARP_KERNEL_DIR=/nonexistent/kernel holds no bzImage and vmlinux: point it at a directory with both, " +
            "or unset it to use the kernel built by kernel/build-kernel.sh", result.Stderr.Trim());
    }

    [Fact]
    public void Run_MissingQemu_ClearErrorBeforeBuilding()
    {
        var result = RunWith(("UNISHARP_QEMU", "/nonexistent/qemu-system-x86_64"), "run", "examples/hello", "-t", "firecracker");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("unisharp: error: UNISHARP_QEMU=/nonexistent/qemu-system-x86_64 does not exist: unset it to use qemu-system-x86_64 (apt-get install qemu-system-x86)",
            result.Stderr.Trim());
    }

    /// <summary>The initrd is gzip, a newc cpio archive with the app as /init and the C library next to it.</summary>
    private static void AssertInitrdHoldsTheApp(string initrd)
    {
        // The image's initrd is in LZ4's legacy frame (magic 02 21 4C 18), which the kernel and the lz4 tool both read.
        byte[] magic = new byte[4];
        using (var file = File.OpenRead(initrd))
        {
            file.ReadExactly(magic);
        }
        Assert.Equal(new byte[] { 0x02, 0x21, 0x4C, 0x18 }, magic);
        var list = HostCommand.Run("bash", ["-c", "set -o pipefail; lz4 -dc \"$1\" | cpio -t --quiet", "bash", initrd], TimeSpan.FromSeconds(60));
        Assert.True(list.ExitCode == 0, list.Stderr);
        var names = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("init", names);
        Assert.Contains("dev/console", names);
        Assert.Contains(names, n => n.EndsWith("/libc.so.6", StringComparison.Ordinal));
    }

    private static int CountLines(string text, string line) =>
        text.Split('\n').Count(l => l.TrimEnd('\r').EndsWith(line, StringComparison.Ordinal));

    private static HostCommand.Result RunWith((string Name, string Value) variable, params string[] arguments)
    {
        var start = new ProcessStartInfo(Unisharp.Launcher)
        {
            WorkingDirectory = Unisharp.Root,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.Environment[variable.Name] = variable.Value;
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        // The launcher says once that it is building the tool; that line is not the verb's error.
        stderr = string.Join('\n', stderr.Split('\n').Where(l => !l.StartsWith("unisharp: building the unisharp tool", StringComparison.Ordinal)));
        return new HostCommand.Result(process.ExitCode, stdout.Result, stderr);
    }
}
