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

            // The launch script alone boots the image the same way.
            var direct = HostCommand.Run(Path.Combine(image, "launch.sh"), [], s_boot);
            Assert.Equal(0, direct.ExitCode);
            Assert.Equal(4, CountLines(direct.Stdout, "Hello"));
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
                Assert.EndsWith("-- --interval-ms=10", args);
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
    /// Linux ping gets answers from our stack in the VM, --pcap records them, and SIGTERM stops the VM and deletes
    /// the namespace.
    /// </summary>
    [MicroVmFact(NeedsNamespaces = true)]
    public void Qemu_EchoOnTap_AnswersPingFromTheNamespaceAndCleansUp()
    {
        string app = Unisharp.CopyExample("echo");
        string pcap = Path.Combine(app, "guest.pcap");
        Process? tool = null;
        try
        {
            var build = Unisharp.Run(s_buildAndBoot, "build", app, "-t", "qemu");
            Assert.True(build.ExitCode == 0, build.Stderr + build.Stdout);

            tool = Unisharp.Start("run", app, "-t", "qemu", "--no-build", "--net", "tap:tap0", "--pcap", pcap, "--", "--ipv4=198.18.7.2/24");
            var output = new ToolOutput(tool, "reach the guest with: ");
            string[] command = output.WaitForMarked(TimeSpan.FromMinutes(1)).Split(' ');
            Assert.Equal(["ip", "netns", "exec"], command[..3]);
            string ns = command[3];
            Assert.Equal(["ping", "198.18.7.2"], command[4..]);
            Assert.Contains($"host side 198.18.7.1/24", output.Stderr);

            // The guest needs a few seconds under TCG to boot and configure its address.
            HostCommand.Result? ping = null;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(90) && !tool.HasExited)
            {
                ping = HostCommand.Run("ip", ["netns", "exec", ns, "ping", "-c", "2", "-W", "5", "198.18.7.2"], TimeSpan.FromSeconds(30));
                if (ping.ExitCode == 0)
                {
                    break;
                }
            }
            Assert.True(ping is { ExitCode: 0 }, $"no answer to ping: {ping?.Stdout}\n{output.Stderr}");
            // ping exits 0 once a reply came; the first request can go while the guest is still starting its stack.
            Assert.Matches(@"[12] received", ping!.Stdout);

            // TCP through our stack in the VM: the echo comes back byte for byte. The card offers its offloads, as
            // Firecracker's does: the host's frames reach the guest with partial checksums, TCP in large segments.
            var random = new Random(5);
            string text = new(Enumerable.Range(0, 48 * 1024).Select(i => i % 64 == 63 ? '\n' : (char)random.Next('!', '~')).ToArray());
            var echo = HostCommand.Run("ip", ["netns", "exec", ns, "nc", "-N", "-w", "20", "198.18.7.2", "7"], TimeSpan.FromSeconds(90),
                System.Text.Encoding.ASCII.GetBytes(text));
            Assert.True(echo.ExitCode == 0, $"nc failed: {echo.Stderr}");
            Assert.True(text == echo.Stdout, $"the echo differs: sent {text.Length} characters, got {echo.Stdout.Length}");

            HostCommand.Run("kill", ["-TERM", tool.Id.ToString()]);
            Assert.True(tool.WaitForExit(TimeSpan.FromSeconds(30)), "the tool did not stop after SIGTERM");
            Assert.Equal(143, tool.ExitCode);
            Assert.DoesNotContain(ns, HostCommand.Run("ip", ["netns", "list"]).Stdout);

            var read = HostCommand.Run("tcpdump", ["-n", "-r", pcap], TimeSpan.FromSeconds(30));
            Assert.Contains("198.18.7.2 > 198.18.7.1: ICMP echo reply", read.Stdout);
            Assert.Contains("offload: checksum, TCP segmentation", output.Console);
        }
        finally
        {
            // SIGTERM first, so that the tool deletes its namespace; SIGKILL would leave it behind.
            ToolOutput.Stop(tool);
            tool?.Dispose();
            Unisharp.DeleteScratch(app);
        }
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
