using Unisharp.Hosting;
using Unisharp.Targets.MicroVm.Network;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>The kernel command line words of the guest's network card: the receive ring and the pcap port.</summary>
public sealed class GuestNetworkOptionTests
{
    [Fact]
    public void TakeOptions_NoNetworkWords_V2RingAndNoCapture()
    {
        var target = new MicroVmTarget("qemu");

        var rest = target.TakeOptions(KernelCommandLine.Split("console=ttyS0 --ipv4=198.18.0.2/24"));

        Assert.Equal(["--ipv4=198.18.0.2/24"], rest);
        Assert.Equal(PacketReceiveMode.RingV2, target.ReceiveMode);
        Assert.Null(target.PcapPort);
    }

    [Theory]
    [InlineData("v2", PacketReceiveMode.RingV2)]
    [InlineData("v3", PacketReceiveMode.RingV3)]
    [InlineData("off", PacketReceiveMode.Recv)]
    public void TakeOptions_RxRing_SetsTheReceiveMode(string value, PacketReceiveMode expected)
    {
        var target = new MicroVmTarget("firecracker");

        var rest = target.TakeOptions([$"unisharp.rxring={value}", "--port=7"]);

        Assert.Equal(["--port=7"], rest);
        Assert.Equal(expected, target.ReceiveMode);
    }

    [Fact]
    public void TakeOptions_BadRxRing_Throws()
    {
        Assert.Throws<BootArgumentException>(() => new MicroVmTarget("qemu").TakeOptions(["unisharp.rxring=v4"]));
    }

    [Theory]
    [InlineData(new string[0], true)]
    [InlineData(new[] { "unisharp.offload=on" }, true)]
    [InlineData(new[] { "unisharp.offload=off" }, false)]
    public void TakeOptions_Offload_OnByDefault(string[] words, bool expected)
    {
        var target = new MicroVmTarget("qemu");

        var rest = target.TakeOptions([.. words, "--port=7"]);

        Assert.Equal(["--port=7"], rest);
        Assert.Equal(expected, target.Offload);
    }

    [Fact]
    public void TakeOptions_BadOffload_Throws()
    {
        var e = Assert.Throws<BootArgumentException>(() => new MicroVmTarget("firecracker").TakeOptions(["unisharp.offload=maybe"]));
        Assert.Contains("unisharp.offload", e.Message);
    }

    [Fact]
    public void TakeOptions_Pcap_NamesTheSerialPort()
    {
        var target = new MicroVmTarget("qemu");

        var rest = target.TakeOptions(["unisharp.pcap=ttyS1", "--port=7"]);

        Assert.Equal(["--port=7"], rest);
        Assert.Equal("ttyS1", target.PcapPort);
    }

    [Theory]
    [InlineData("unisharp.pcap=")]
    [InlineData("unisharp.pcap=/dev/ttyS1")]
    public void TakeOptions_BadPcap_Throws(string word)
    {
        Assert.Throws<BootArgumentException>(() => new MicroVmTarget("qemu").TakeOptions([word]));
    }
}
