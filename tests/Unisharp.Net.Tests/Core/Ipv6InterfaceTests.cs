using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Net.Iface;
using Unisharp.Net.Wire;
using static Unisharp.Net.Tests.Core.InterfaceFixture;

namespace Unisharp.Net.Tests.Core;

public class Ipv6InterfaceTests
{
    private static NetworkInterface Create(TestDevice device, NetworkInterfaceOptions? options = null, ulong seed = 1) =>
        new(device, new SeededEntropy(seed), QuietLog, new IpConfiguration(Ipv4Cidr.Parse("198.18.0.2/24"), null, false, Ipv6Autoconfiguration: true),
            Instant.Zero, options);

    private static void RunFor(NetworkInterface iface, Duration duration)
    {
        for (var now = Instant.Zero; now <= Instant.Zero + duration; now += Duration.FromMilliseconds(100))
        {
            iface.Poll(now);
        }
    }

    [Fact]
    public void LinkLocal_Default_ModifiedEui64AfterDad()
    {
        var iface = Create(new TestDevice(MacB));
        RunFor(iface, Duration.FromSeconds(3));
        Assert.Equal(Ipv6Address.Parse("fe80::ff:fe00:b"), iface.LinkLocalAddress);
        Assert.Equal(Ipv6AddressState.Preferred, iface.Ipv6StateOf(Ipv6Address.Parse("fe80::ff:fe00:b")));
    }

    [Fact]
    public void LinkLocal_StablePrivacy_NotFromTheMacAndStablePerKey()
    {
        var options = new NetworkInterfaceOptions { Ipv6StablePrivacy = true };
        var first = Create(new TestDevice(MacB), options, seed: 5);
        var again = Create(new TestDevice(MacB), options, seed: 5);
        var other = Create(new TestDevice(MacB), options, seed: 6);
        var address = first.LinkLocalAddress!.Value;
        Assert.True(address.IsLinkLocal);
        Assert.NotEqual(Ipv6Address.LinkLocal(MacB), address);
        Assert.Equal(address, again.LinkLocalAddress);
        Assert.NotEqual(address, other.LinkLocalAddress);
    }

    [Fact]
    public void Startup_SendsMldReportThenDadProbeThenRouterSolicitation()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        RunFor(iface, Duration.FromSeconds(3));
        var kinds = new List<Icmpv6Type>();
        foreach (byte[] frame in device.Sent)
        {
            if (frame.Length < 62 || frame[12] != 0x86 || frame[13] != 0xDD)
            {
                continue;
            }
            Ipv6Repr.TryParse(frame.AsSpan(14), out var ip, out var payload);
            Ipv6HeaderChain.TryWalk(payload, ip.NextHeader, out var chain, out _, out _, out _);
            Assert.Equal(WireError.None, Icmpv6Repr.TryParse(payload[chain.PayloadOffset..], ip.Source, ip.Destination, out var icmp, out _));
            kinds.Add(icmp.Type);
        }
        Assert.Equal(Icmpv6Type.Mldv2Report, kinds[0]);
        Assert.Equal(Icmpv6Type.NeighborSolicitation, kinds.First(k => k != Icmpv6Type.Mldv2Report));
        Assert.Contains(Icmpv6Type.RouterSolicitation, kinds);
        Assert.True(kinds.IndexOf(Icmpv6Type.NeighborSolicitation) < kinds.IndexOf(Icmpv6Type.RouterSolicitation));
    }

    [Fact]
    public void Ipv6Off_WithoutAutoconfOrAddress_FramesDroppedAsUnknownEtherType()
    {
        var device = new TestDevice(MacB);
        var iface = new NetworkInterface(device, new SeededEntropy(1), QuietLog, new IpConfiguration(Ipv4Cidr.Parse("198.18.0.2/24"), null, false), Instant.Zero);
        device.Incoming.Enqueue(Ipv6Captures.EchoRequestLinkLocal);
        iface.Poll(Instant.Zero);
        Assert.False(iface.Ipv6Enabled);
        Assert.Equal(1, iface.Stats.Dropped(DropReason.UnknownEtherType));
        // Only IPv4's address probe goes out.
        Assert.DoesNotContain(device.Sent, f => f[12] == 0x86 && f[13] == 0xDD);
    }
    [Fact]
    public void PacketTooBig_ForOurPacket_LaterPacketsFragmentedToThePathMtu()
    {
        var device = new TestDevice(MacB);
        var iface = new NetworkInterface(device, new SeededEntropy(1), QuietLog,
            new IpConfiguration(Ipv4Cidr.Parse("198.18.0.2/24"), null, false, Ipv6Address: Ipv6Cidr.Parse("fd00:198:18::2/64"),
                Ipv6Gateway: Ipv6Address.Parse("fe80::1")), Instant.Zero);
        RunFor(iface, Duration.FromSeconds(3));
        var ours = Ipv6Address.Parse("fd00:198:18::2");
        var far = Ipv6Address.Parse("2001:db8::9");
        var router = Ipv6Address.Parse("fe80::1");
        iface.Neighbors!.LearnFromSolicitation(router, MacA, Instant.FromMilliseconds(3000));
        // The router says our 1400-byte packet to 2001:db8::9 does not fit its next link of 1300.
        byte[] quoted = new byte[1232];
        new Ipv6Repr(ours, far, IpProtocol.Icmpv6, 1360).Emit(quoted);
        var ptb = new Icmpv6Repr(Icmpv6Type.PacketTooBig, 0, 1300, quoted.Length);
        byte[] frame = new byte[14 + 40 + ptb.BufferLength];
        new EthernetRepr(MacB, MacA, EtherType.Ipv6).Emit(frame);
        new Ipv6Repr(router, ours, IpProtocol.Icmpv6, ptb.BufferLength, 64).Emit(frame.AsSpan(14));
        ptb.Emit(frame.AsSpan(54), quoted, router, ours);
        device.Incoming.Enqueue(frame);
        var now = Instant.FromMilliseconds(3100);
        iface.Poll(now);
        device.Sent.Clear();

        Assert.True(iface.SendEchoRequest(far, 1, 1, new byte[1400], now));
        Assert.True(iface.SendEchoRequest(Ipv6Address.Parse("2001:db8::10"), 1, 2, new byte[1400], now));

        var lengths = device.Sent.Select(f => f.Length - 14).ToList();
        // To far: two fragments, none over 1300; to the other destination: one packet of 1448 bytes.
        Assert.Equal(3, lengths.Count);
        Assert.All(lengths.Take(2), l => Assert.InRange(l, 1, 1300));
        Assert.Equal(40 + 8 + 1400, lengths[2]);
    }
}
