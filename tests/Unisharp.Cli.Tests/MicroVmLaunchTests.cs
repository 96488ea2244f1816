using Unisharp.Cli.MicroVm;

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
        Assert.Contains(" noapictimer ", launch.QemuArguments()[launch.QemuArguments().ToList().IndexOf("-append") + 1]);
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
}
