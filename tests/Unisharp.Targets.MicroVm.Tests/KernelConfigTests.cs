using System.Text.RegularExpressions;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>The kernel the tests boot was configured as our Kconfig fragment says: what it requires is built in, what it forbids is off.</summary>
public sealed partial class KernelConfigTests
{
    [BootFact]
    public void BuiltKernel_MatchesTheFragment()
    {
        string config = File.ReadAllText(Path.Combine(BootFactAttribute.KernelDirectory.Value!, "config"));
        var set = ConfigLine().Matches(config).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        int required = 0, forbidden = 0;
        foreach (string line in File.ReadLines(Path.Combine(RepositoryPaths.Root, "kernel", "unisharp-x86_64.config")))
        {
            if (Required().Match(line) is { Success: true } on)
            {
                required++;
                Assert.True(set.TryGetValue(on.Groups[1].Value, out string? value) && value == "y", $"CONFIG_{on.Groups[1].Value} should be y");
            }
            else if (Forbidden().Match(line) is { Success: true } off)
            {
                forbidden++;
                Assert.False(set.ContainsKey(off.Groups[1].Value), $"CONFIG_{off.Groups[1].Value} should be off");
            }
        }
        // The unikernel's essentials, whatever the fragment says: no kernel TCP/IP, no modules; raw frames, io_uring, PVH.
        Assert.False(set.ContainsKey("INET"), "the kernel has TCP/IP (CONFIG_INET)");
        Assert.False(set.ContainsKey("MODULES"), "the kernel has modules");
        Assert.DoesNotContain("m", set.Values);
        foreach (string option in new[] { "PACKET", "IO_URING", "PVH", "VIRTIO_NET", "VIRTIO_BLK", "VIRTIO_PCI", "VIRTIO_MMIO", "BLK_DEV_INITRD", "DEVTMPFS" })
        {
            Assert.True(set.TryGetValue(option, out string? value) && value == "y", $"CONFIG_{option} should be y");
        }
        Assert.True(required > 20 && forbidden > 3, $"the fragment has only {required} required and {forbidden} forbidden options");
    }

    [GeneratedRegex(@"^CONFIG_([A-Za-z0-9_]+)=(.*)$", RegexOptions.Multiline)]
    private static partial Regex ConfigLine();

    [GeneratedRegex(@"^CONFIG_([A-Za-z0-9_]+)=y$")]
    private static partial Regex Required();

    [GeneratedRegex(@"^# CONFIG_([A-Za-z0-9_]+) is not set$")]
    private static partial Regex Forbidden();
}
