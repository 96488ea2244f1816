using Unisharp.Hosting;

namespace Unisharp.Targets.MicroVm.Tests;

public sealed class MicroVmTargetTests
{
    [Fact]
    public void Split_QuotedValue_KeepsSpacesAndDropsQuotes()
    {
        var words = KernelCommandLine.Split("console=ttyS0  --greeting=\"hello world\" \"--x=a b\"\tquiet\n");

        Assert.Equal(["console=ttyS0", "--greeting=hello world", "--x=a b", "quiet"], words);
    }

    /// <summary>Only as the guest's init does it leave signals alone (the boot tests run it as init: their console lines come through).</summary>
    [Fact]
    public void StopsOnSignals_OutsideInit_LikeAnyProcess()
    {
        Assert.True(new MicroVmTarget("qemu").StopsOnSignals);
        Assert.True(new MicroVmTarget("firecracker").StopsOnSignals);
    }

    [Fact]
    public void Split_Empty_GivesNoWords()
    {
        Assert.Empty(KernelCommandLine.Split(" \n"));
    }

    [Fact]
    public void TakeOptions_KernelCommandLine_ReturnsBootArgumentsAndKeepsDisks()
    {
        var target = new MicroVmTarget("qemu");
        // As the tool writes it, with QEMU's microvm (or Firecracker) appending its devices at the end.
        var words = KernelCommandLine.Split(
            "console=ttyS0 panic=-1 disk.data=vda disk.logs=/dev/vdb:ro --count=2 unisharp.args=--interval-ms=10,--greeting=a%20b%2C%20c virtio_mmio.device=4K@0xd0000000:5");

        var rest = target.TakeOptions(words);

        Assert.Equal(["--interval-ms=10", "--greeting=a b, c", "--count=2"], rest);
        Assert.Equal(new GuestDisk("data", "vda", false), target.Disks["data"]);
        Assert.Equal(new GuestDisk("logs", "vdb", true), target.Disks["logs"]);
        Assert.Equal("/dev/vdb", target.Disks["logs"].DevicePath);
        Assert.Equal("eth0", target.NetworkInterface);
    }

    /// <summary>The kernel handed init the words after '--', QEMU's virtio_mmio.device= among them: those devices are lost.</summary>
    [Fact]
    public void TakeOptions_DevicesAfterSeparator_ThrowsSayingWhy()
    {
        var words = KernelCommandLine.Split("console=ttyS0 -- --count=2 virtio_mmio.device=4K@0xd0000000:5");

        var e = Assert.Throws<BootArgumentException>(() => new MicroVmTarget("firecracker").TakeOptions(words));
        Assert.Contains("unisharp.args=", e.Message);
    }

    [Fact]
    public void TakeOptions_MalformedArgumentsWord_ThrowsBootArgumentException()
    {
        var e = Assert.Throws<BootArgumentException>(() => new MicroVmTarget("qemu").TakeOptions(["unisharp.args=--x=%zz"]));
        Assert.StartsWith("unisharp.args=: ", e.Message);
    }

    [Fact]
    public void TakeOptions_NetOption_ChangesTheInterface()
    {
        var target = new MicroVmTarget("firecracker");

        target.TakeOptions(["unisharp.net=eth1"]);

        Assert.Equal("eth1", target.NetworkInterface);
        Assert.Equal("firecracker", target.Name);
    }

    [Theory]
    [InlineData("disk.data")]
    [InlineData("disk.=vda")]
    [InlineData("disk.data=")]
    [InlineData("disk.data=../vda")]
    [InlineData("unisharp.net=")]
    public void TakeOptions_MalformedDeviceOption_ThrowsBootArgumentException(string word)
    {
        Assert.Throws<BootArgumentException>(() => new MicroVmTarget("qemu").TakeOptions([word]));
    }

    [Fact]
    public void TakeOptions_SameDiskTwice_ThrowsBootArgumentException()
    {
        Assert.Throws<BootArgumentException>(() => new MicroVmTarget("qemu").TakeOptions(["disk.a=vda", "disk.a=vdb"]));
    }

    [Fact]
    public void TakeDeviceOptions_NotInit_ReadsTheProcessArguments()
    {
        string? read = null;
        var target = new MicroVmTarget("qemu", () => read = "--from-proc=1");

        var rest = target.TakeDeviceOptions(["disk.a=vdc", "--count=1"]);

        Assert.Null(read);
        Assert.Equal(["--count=1"], rest);
        Assert.Equal("vdc", target.Disks["a"].Device);
    }

    [Fact]
    public void Constructor_UnknownName_Throws()
    {
        Assert.Throws<ArgumentException>(() => new MicroVmTarget("unix"));
    }

    [Fact]
    public async Task OpenAsync_DiskNotGiven_ThrowsBootArgumentException()
    {
        var target = new MicroVmTarget("qemu");
        var request = new DeviceRequest { Disks = ["data"], Ip = default, Log = new Logging.Logger(Logging.LogLevel.Quiet, TextWriter.Null) };

        var e = await Assert.ThrowsAsync<BootArgumentException>(async () => await target.OpenAsync(request, CancellationToken.None));
        Assert.Contains("disk.data=", e.Message);
    }

    [Fact]
    public async Task OpenAsync_NoDevicesAsked_GivesClockEntropyAndConsole()
    {
        var target = new MicroVmTarget("qemu");
        var request = new DeviceRequest { Ip = default, Log = new Logging.Logger(Logging.LogLevel.Quiet, TextWriter.Null) };

        await using var devices = await target.OpenAsync(request, CancellationToken.None);
        byte[] random = new byte[32];
        devices.Entropy.Fill(random);

        Assert.Null(devices.Network);
        Assert.Empty(devices.Disks);
        Assert.Contains(random, b => b != 0);
        var now = devices.Clock.Now;
        Assert.True(now >= Instant.Zero, $"the clock reads {now.Microseconds} us");
    }
}
