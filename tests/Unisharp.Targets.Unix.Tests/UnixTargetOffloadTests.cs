using Unisharp.Hosting;

namespace Unisharp.Targets.Unix.Tests;

/// <summary>The <c>--net-offload</c> device option.</summary>
public sealed class UnixTargetOffloadTests
{
    [Fact]
    public void TakeDeviceOptions_NoOffloadOption_OffloadOn()
    {
        var target = new UnixTarget();
        target.TakeDeviceOptions(["--net=tap:tap0"]);
        Assert.True(target.Offload);
    }

    [Theory]
    [InlineData("--net-offload=off", false)]
    [InlineData("--net-offload=on", true)]
    public void TakeDeviceOptions_NetOffload_Parsed(string option, bool expected)
    {
        var target = new UnixTarget();
        var rest = target.TakeDeviceOptions(["--net=tap:tap0", option, "--port=7"]);
        Assert.Equal(["--port=7"], rest);
        Assert.Equal(expected, target.Offload);
    }

    [Fact]
    public void TakeDeviceOptions_NetOffloadMalformed_ClearError()
    {
        var e = Assert.Throws<BootArgumentException>(() => new UnixTarget().TakeDeviceOptions(["--net-offload=maybe"]));
        Assert.Contains("--net-offload", e.Message);
    }

    [Fact]
    public void DeviceOptions_Help_ListsNetOffload()
    {
        Assert.Contains(new UnixTarget().DeviceOptions, o => o.Usage.Contains("--net-offload"));
    }
}
