using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net;

namespace Unisharp.Targets.Unix.Tests;

/// <summary>How the unix target reads its device options and what it opens for an app.</summary>
public sealed class UnixTargetTests
{
    [Fact]
    public void TakeDeviceOptions_BothForms_TakenAndRestKept()
    {
        var target = new UnixTarget();
        var rest = target.TakeDeviceOptions(["--net", "tap:tap0", "--port=7", "--disk=0=/tmp/a.img", "--disk", "1=/tmp/b.img:ro", "--mac=02:00:00:00:00:09"]);
        Assert.Equal(["--port=7"], rest);
        Assert.Equal("tap0", target.Net.Tap);
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:09"), target.Mac);
        Assert.Equal(new DiskOption("0", "/tmp/a.img", false), target.Disks["0"]);
        Assert.Equal(new DiskOption("1", "/tmp/b.img", true), target.Disks["1"]);
    }

    [Fact]
    public void TakeDeviceOptions_PcapAndFaults_Parsed()
    {
        var target = new UnixTarget();
        var rest = target.TakeDeviceOptions(["--pcap=/tmp/x.pcap", "--net-fault", "drop=0.05,seed=7"]);
        Assert.Empty(rest);
        Assert.Equal("/tmp/x.pcap", target.PcapPath);
        Assert.Equal(0.05, target.Faults!.Drop);
        Assert.Equal(7UL, target.Faults.Seed);
    }

    [Fact]
    public async Task OpenAsync_PcapWithoutTap_ClearError()
    {
        var target = new UnixTarget();
        target.TakeDeviceOptions(["--pcap=/tmp/x.pcap"]);
        var e = await Assert.ThrowsAsync<BootArgumentException>(async () => await target.OpenAsync(Request(stack: true, address: "127.0.0.1/8"), CancellationToken.None));
        Assert.Contains("need --net tap:NAME", e.Message);
    }

    [Fact]
    public void TakeDeviceOptions_AfterDoubleDash_AllBootArguments()
    {
        var target = new UnixTarget();
        var rest = target.TakeDeviceOptions(["--net=socket", "--", "--net=looks-like-a-device-option"]);
        Assert.Equal(["--net=looks-like-a-device-option"], rest);
        Assert.Null(target.Net.Tap);
    }

    [Theory]
    [InlineData(new[] { "--net=wifi" }, "invalid value 'wifi' for --net: expected tap:NAME or socket")]
    [InlineData(new[] { "--net=tap:" }, "invalid TAP name '' in --net: 1 to 15 letters, digits, '-', '_' or '.'")]
    [InlineData(new[] { "--net=tap:a/b" }, "invalid TAP name 'a/b' in --net: 1 to 15 letters, digits, '-', '_' or '.'")]
    [InlineData(new[] { "--disk=disk.img" }, "invalid value 'disk.img' for --disk: expected NAME=PATH, e.g. --disk 0=disk0.img")]
    [InlineData(new[] { "--disk=0=a", "--disk=0=b" }, "disk '0' is given twice")]
    [InlineData(new[] { "--mac=ff:ff:ff:ff:ff:ff" }, "invalid value 'ff:ff:ff:ff:ff:ff' for --mac: expected a unicast MAC address like 02:00:00:00:00:01")]
    [InlineData(new[] { "--net" }, "--net needs a value")]
    [InlineData(new[] { "--net-fault=lose=0.1" }, "invalid value 'lose=0.1' for --net-fault: ")]
    public void TakeDeviceOptions_Malformed_ClearError(string[] args, string message)
    {
        var e = Assert.Throws<BootArgumentException>(() => new UnixTarget().TakeDeviceOptions(args));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public async Task OpenAsync_StackInSocketMode_HostSocketsOnTheGivenAddress()
    {
        var target = new UnixTarget();
        target.TakeDeviceOptions(["--net=socket"]);
        await using var devices = await target.OpenAsync(Request(stack: true, address: "127.0.0.1/8"), CancellationToken.None);
        Assert.NotNull(devices.Stack);
        Assert.Null(devices.Network);
        Assert.Equal(Ipv4Address.Loopback, devices.Stack.Address);
    }

    [Fact]
    public async Task OpenAsync_RawFramesWithoutTap_ClearError()
    {
        var target = new UnixTarget();
        var request = new DeviceRequest { NetworkDevice = true, Ip = default, Log = new Logger(LogLevel.Quiet) };
        var e = await Assert.ThrowsAsync<BootArgumentException>(async () => await target.OpenAsync(request, CancellationToken.None));
        Assert.Contains("--net tap:NAME", e.Message);
    }

    [Fact]
    public async Task OpenAsync_MissingDisk_NamesTheOption()
    {
        var target = new UnixTarget();
        var request = new DeviceRequest { Disks = ["0"], Ip = default, Log = new Logger(LogLevel.Quiet) };
        var e = await Assert.ThrowsAsync<BootArgumentException>(async () => await target.OpenAsync(request, CancellationToken.None));
        Assert.Equal("the app needs disk '0': give --disk 0=PATH", e.Message);
    }

    [Fact]
    public async Task OpenAsync_DiskFileMissing_IOExceptionNamingIt()
    {
        var target = new UnixTarget();
        target.TakeDeviceOptions(["--disk=0=/nonexistent/disk.img"]);
        var request = new DeviceRequest { Disks = ["0"], Ip = default, Log = new Logger(LogLevel.Quiet) };
        var e = await Assert.ThrowsAnyAsync<IOException>(async () => await target.OpenAsync(request, CancellationToken.None));
        Assert.Contains("/nonexistent/disk.img", e.Message);
    }

    private static DeviceRequest Request(bool stack, string address) => new()
    {
        Stack = stack,
        Ip = new IpConfiguration(Ipv4Cidr.Parse(address), null, false),
        Log = new Logger(LogLevel.Quiet),
    };
}
