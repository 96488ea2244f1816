using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net.Iface;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Core;

/// <summary>Builds interfaces on a <see cref="TestDevice"/> as the captured peer 198.18.0.2 (02:00:00:00:00:0b).</summary>
internal static class InterfaceFixture
{
    public static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:00:0a");
    public static readonly MacAddress MacB = MacAddress.Parse("02:00:00:00:00:0b");
    public static readonly Ipv4Address IpA = Ipv4Address.Parse("198.18.0.1");
    public static readonly Ipv4Address IpB = Ipv4Address.Parse("198.18.0.2");

    public static Logger QuietLog => new(LogLevel.Quiet);

    public static NetworkInterface Create(TestDevice device, string? cidr = "198.18.0.2/24", string? gateway = null,
        NetworkInterfaceOptions? options = null, ulong seed = 1)
    {
        var ip = new IpConfiguration(cidr is null ? null : Ipv4Cidr.Parse(cidr), gateway is null ? null : Ipv4Address.Parse(gateway), cidr is null);
        return new NetworkInterface(device, new SeededEntropy(seed), QuietLog, ip, Instant.Zero, options);
    }

    /// <summary>An interface that has answered A's ARP request, so it knows A, with its start-up ARP traffic cleared.</summary>
    public static NetworkInterface CreateKnowingA(TestDevice device, NetworkInterfaceOptions? options = null)
    {
        var iface = Create(device, options: options);
        device.Incoming.Enqueue(Captures.ArpRequest);
        iface.Poll(Instant.Zero);
        device.TakeSent();
        return iface;
    }

    public static List<byte[]> Ipv4Frames(IEnumerable<byte[]> frames) =>
        frames.Where(f => f.Length >= 34 && f[12] == 0x08 && f[13] == 0x00).ToList();

    public static List<ArpRepr> ArpPackets(IEnumerable<byte[]> frames)
    {
        var list = new List<ArpRepr>();
        foreach (byte[] f in frames)
        {
            if (f.Length >= 42 && f[12] == 0x08 && f[13] == 0x06 && ArpRepr.TryParse(f.AsSpan(14), out var arp) == WireError.None)
            {
                list.Add(arp);
            }
        }
        return list;
    }
}
