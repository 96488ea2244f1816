using Unisharp.Cli.MicroVm;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>The QEMU command line and kernel words a launch makes, without starting QEMU.</summary>
public sealed class MicroVmLaunchTests
{
    private static MicroVmLaunch Launch(string target, bool offload) => new()
    {
        Target = target,
        Kernel = "/k",
        Initrd = "/i",
        Tap = "ustap0",
        Offload = offload,
    };

    [Theory]
    [InlineData("qemu")]
    [InlineData("firecracker")]
    public void Offload_OnByDefault_TapKeepsItsVirtioHeader(string target)
    {
        var launch = Launch(target, offload: true);

        string netdev = Assert.Single(launch.QemuArguments(), a => a.StartsWith("tap,", StringComparison.Ordinal));
        Assert.DoesNotContain("vnet_hdr", netdev);
        Assert.DoesNotContain("unisharp.offload=off", launch.CommandLine());
    }

    [Theory]
    [InlineData("qemu")]
    [InlineData("firecracker")]
    public void Offload_Off_TurnedOffOnBothSides(string target)
    {
        var launch = Launch(target, offload: false);

        string netdev = Assert.Single(launch.QemuArguments(), a => a.StartsWith("tap,", StringComparison.Ordinal));
        Assert.Contains("vnet_hdr=off", netdev);
        Assert.Contains("unisharp.offload=off", launch.KernelWords());
        // Firecracker's card cannot be told: the guest's word carries the choice into firecracker.json.
        Assert.Contains("unisharp.offload=off", launch.CommandLine(forFirecracker: true));
    }

    [Theory]
    [InlineData("qemu")]
    [InlineData("firecracker")]
    public void NoApicTimer_UnderTcg_OnTheCommandLineButNotInFirecrackersConfig(string target)
    {
        var launch = Launch(target, offload: true) with { NoApicTimer = true, TscKhz = 2_000_000 };

        Assert.Contains("noapictimer", launch.KernelWords());
        Assert.Contains("noapictimer", launch.QemuArguments()[launch.QemuArguments().ToList().IndexOf("-append") + 1].Split(' '));
        // Firecracker runs on KVM, whose APIC timer needs no calibration.
        Assert.DoesNotContain("noapictimer", launch.CommandLine(forFirecracker: true));
        Assert.DoesNotContain("noapictimer", (launch with { NoApicTimer = false }).KernelWords());
    }

    [Fact]
    public void Firmware_Pc_BootsFromQboot_UnlessToldOtherwise()
    {
        var qemu = Launch("qemu", offload: true);
        var arguments = qemu.QemuArguments().ToList();

        Assert.Equal(["-M", "pc", "-bios", "bios-microvm.bin"], arguments.Take(4));
        Assert.DoesNotContain("-bios", (qemu with { Firmware = null }).QemuArguments());
        // microvm's own firmware is qboot already.
        Assert.DoesNotContain("-bios", Launch("firecracker", offload: true).QemuArguments());
    }

    [Fact]
    public void HasFirmware_LooksWhereQemuLooks_BesideItsBinary()
    {
        string root = Path.Combine(Path.GetTempPath(), $"us-fw-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "bin"));
            string qemu = Path.Combine(root, "bin", "qemu-system-x86_64");
            File.WriteAllText(qemu, "");
            Assert.False(MicroVmRunner.HasFirmware(qemu, MicroVmLaunch.QbootFirmware));

            Directory.CreateDirectory(Path.Combine(root, "share", "qemu"));
            File.WriteAllText(Path.Combine(root, "share", "qemu", MicroVmLaunch.QbootFirmware), "");
            Assert.True(MicroVmRunner.HasFirmware(qemu, MicroVmLaunch.QbootFirmware));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
    /// <summary>The app's arguments sit in one unisharp.args= word among the kernel's, never after a '--' (the VMM appends its devices there).</summary>
    [Theory]
    [InlineData("qemu")]
    [InlineData("firecracker")]
    public void CommandLine_BootArguments_OneEncodedWordAndNoSeparator(string target)
    {
        var launch = Launch(target, offload: true) with { BootArguments = ["--greeting=hello, \"world\"", "--port", "8080"] };

        string line = launch.CommandLine();

        Assert.EndsWith(" unisharp.args=--greeting=hello%2C%20%22world%22,--port,8080", line);
        Assert.DoesNotContain(" -- ", line);
        Assert.Equal(line, launch.QemuArguments()[launch.QemuArguments().ToList().IndexOf("-append") + 1]);
        Assert.DoesNotContain("unisharp.args", (launch with { BootArguments = [] }).CommandLine());
    }

    [Fact]
    public void CommandLine_Firecracker_PciOffAndErrorsOffTheConsole()
    {
        var words = Launch("firecracker", offload: true).KernelWords();

        Assert.Contains("pci=off", words);
        // "PCI: Fatal: No config space access function found" is an error pci=off does not silence.
        Assert.Contains("loglevel=3", words);
        Assert.DoesNotContain("quiet", words);
        Assert.Contains("quiet", Launch("qemu", offload: true).KernelWords());
        Assert.Contains("loglevel=7", (Launch("firecracker", offload: true) with { Debug = true }).KernelWords());
    }

    [Fact]
    public void CommandLine_OverTheKernelsLimit_ClearError()
    {
        var launch = Launch("qemu", offload: true) with { BootArguments = ["--greeting=" + new string(' ', 700)] };

        var e = Assert.Throws<CliException>(() => launch.CommandLine());
        Assert.Contains("over the 2047 the kernel keeps", e.Message);
    }

    /// <summary>A full host disk is an I/O error in the guest, not a VM paused for ever (QEMU's default werror=enospc).</summary>
    [Theory]
    [InlineData("qemu")]
    [InlineData("firecracker")]
    public void QemuArguments_Disks_ReportErrorsToTheGuest(string target)
    {
        var launch = Launch(target, offload: true) with { Disks = [MicroVmDisk.Parse("0=/a,b.img", 0), MicroVmDisk.Parse("1=/c.img:ro", 1)] };

        var drives = launch.QemuArguments().Where(a => a.StartsWith("id=disk-", StringComparison.Ordinal)).ToList();

        Assert.Equal(["id=disk-vda,file=/a,,b.img,format=raw,if=none,werror=report,rerror=report",
            "id=disk-vdb,file=/c.img,format=raw,if=none,werror=report,rerror=report,readonly=on"], drives);
    }

    [Fact]
    public void FirecrackerConfig_DisksCardAndArguments_Golden()
    {
        var launch = new MicroVmLaunch
        {
            Target = "firecracker",
            Kernel = "/img/vmlinux",
            Initrd = "/img/initrd",
            Tap = "fc0",
            Disks = [MicroVmDisk.Parse("0=/d/src.img:ro", 0), MicroVmDisk.Parse("1=/d/dst.img", 1)],
            BootArguments = ["--buffsize=7", "--note=a b"],
            TscKhz = 2_000_000,
            NoApicTimer = true,
        };

        Assert.Equal($$"""
            {
              "boot-source": {
                "kernel_image_path": "/img/vmlinux",
                "initrd_path": "/img/initrd",
                "boot_args": "console=ttyS0 panic=-1 reboot=k pci=off loglevel=3 no_timer_check disk.0=vda:ro disk.1=vdb unisharp.args=--buffsize=7,--note=a%20b"
              },
              "machine-config": {
                "vcpu_count": 1,
                "mem_size_mib": 256
              },
              "drives": [
                {
                  "drive_id": "0",
                  "path_on_host": "/d/src.img",
                  "is_root_device": false,
                  "is_read_only": true
                },
                {
                  "drive_id": "1",
                  "path_on_host": "/d/dst.img",
                  "is_root_device": false,
                  "is_read_only": false
                }
              ],
              "network-interfaces": [
                {
                  "iface_id": "eth0",
                  "guest_mac": "{{launch.GuestMac}}",
                  "host_dev_name": "fc0"
                }
              ]
            }

            """.ReplaceLineEndings("\n"), FirecrackerConfig.For(launch).ToJson());
    }

    /// <summary>
    /// launch.sh encodes its own arguments in the shell as the tool does in C#: the same word for awkward text (run by
    /// dash, as /bin/sh on Debian, and by bash), after the image's own arguments; bad options are a clear exit 2.
    /// </summary>
    [Theory]
    [InlineData("sh")]
    [InlineData("bash")]
    public void LaunchScript_Arguments_EncodedAsTheToolDoes(string shell)
    {
        string directory = Directory.CreateTempSubdirectory("unisharp-launch-").FullName;
        try
        {
            var launch = Launch("firecracker", offload: true) with { Tap = null, BootArguments = ["--interval-ms=10"], Disks = [MicroVmDisk.Parse("0=/x.img", 0)] };
            new MicroVmImage(directory, "firecracker").WriteLaunchFiles(launch);
            string script = Path.Combine(directory, MicroVmImage.LaunchScriptName);
            string[] given = ["--greeting=héllo, \"wörld\" 100%", "--port", "8080", "", "--x='a=b'\t\\"];

            // ACCEL=kvm: no TCG-only words, so the line is the tool's own.
            var printed = HostCommand.Run("env", ["ACCEL=kvm", shell, script, "--cmdline", "--", .. given], TimeSpan.FromSeconds(30));

            Assert.True(printed.ExitCode == 0, printed.Stderr);
            Assert.Equal((launch with { BootArguments = ["--interval-ms=10", .. given] }).CommandLine() + "\n", printed.Stdout);
            var none = HostCommand.Run("env", ["ACCEL=kvm", shell, script, "--cmdline"], TimeSpan.FromSeconds(30));
            Assert.Equal(launch.CommandLine() + "\n", none.Stdout);

            var unknown = HostCommand.Run(shell, [script, "--count=2"], TimeSpan.FromSeconds(30));
            Assert.Equal(2, unknown.ExitCode);
            Assert.Equal("launch.sh: unknown option '--count=2': the app's arguments go after '--' (launch.sh --help)\n", unknown.Stderr);
            var badNet = HostCommand.Run(shell, [script, "--net", "tap0"], TimeSpan.FromSeconds(30));
            Assert.Equal(2, badNet.ExitCode);
            Assert.Contains("--net takes tap:NAME or none", badNet.Stderr);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
