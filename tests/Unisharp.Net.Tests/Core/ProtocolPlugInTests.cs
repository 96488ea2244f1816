using Unisharp.Net.Dhcp;
using Unisharp.Net.Iface;
using Unisharp.Net.Wire;
using static Unisharp.Net.Tests.Core.InterfaceFixture;

namespace Unisharp.Net.Tests.Core;

public class ProtocolPlugInTests
{
    private sealed class FakeTcp(NetworkInterface iface) : IIpv4Protocol
    {
        public List<(Ipv4Repr Ip, byte[] Payload)> Received { get; } = [];
        public Instant Deadline { get; set; } = Instant.Never;
        public int Polls { get; private set; }

        public IpProtocol Protocol => IpProtocol.Tcp;

        public void Process(in Ipv4Repr ip, Span<byte> payload, bool checksumTrusted, Instant now)
        {
            Received.Add((ip, payload.ToArray()));
            // Answer through the interface, as TCP will.
            payload.CopyTo(iface.TransmitPayload);
            iface.SendIp(ip.Source, IpProtocol.Tcp, payload.Length, now);
        }

        public void Poll(Instant now) => Polls++;

        public Instant PollAt(Instant now) => Deadline;
    }

    [Fact]
    public void RegisterProtocol_Tcp_GetsSegmentsTimersAndSends()
    {
        var device = new TestDevice(MacB);
        var iface = CreateKnowingA(device);
        var tcp = new FakeTcp(iface);
        iface.RegisterProtocol(tcp);
        tcp.Deadline = Instant.FromMilliseconds(250);
        byte[] frame = Captures.UdpHello;
        frame[14 + 9] = (byte)IpProtocol.Tcp;
        frame[14 + 10] = 0;
        frame[14 + 11] = 0;
        ushort checksum = InternetChecksum.Compute(frame.AsSpan(14, 20));
        frame[14 + 10] = (byte)(checksum >> 8);
        frame[14 + 11] = (byte)checksum;
        device.Incoming.Enqueue(frame);

        iface.Poll(Instant.FromMilliseconds(10));

        var (ip, payload) = Assert.Single(tcp.Received);
        Assert.Equal(IpA, ip.Source);
        Assert.Equal(Captures.UdpHello.AsSpan(34).ToArray(), payload);
        Assert.Equal(1, tcp.Polls);
        Assert.Equal(Instant.FromMilliseconds(250), iface.PollAt(Instant.FromMilliseconds(10)));
        var answer = Assert.Single(Ipv4Frames(device.Sent));
        Assert.Equal((byte)IpProtocol.Tcp, answer[14 + 9]);
    }

    [Fact]
    public void Poll_TcpWithoutProtocol_DroppedSilently()
    {
        var device = new TestDevice(MacB);
        var iface = CreateKnowingA(device);
        byte[] frame = Captures.UdpHello;
        frame[14 + 9] = (byte)IpProtocol.Tcp;
        frame[14 + 10] = 0;
        frame[14 + 11] = 0;
        ushort checksum = InternetChecksum.Compute(frame.AsSpan(14, 20));
        frame[14 + 10] = (byte)(checksum >> 8);
        frame[14 + 11] = (byte)checksum;
        device.Incoming.Enqueue(frame);

        iface.Poll(Instant.Zero);

        Assert.Equal(1, iface.Stats.Dropped(DropReason.UnknownProtocol));
        Assert.Empty(Ipv4Frames(device.Sent));
    }

    [Theory]
    [InlineData("255.255.255.0", "198.18.0.5", 24)]
    [InlineData("255.255.254.0", "198.18.0.5", 23)]
    [InlineData("255.255.255.255", "198.18.0.5", 32)]
    [InlineData("255.0.255.0", "198.18.0.5", 24)] // not contiguous: the classful default for 198.x (class C)
    [InlineData(null, "10.1.2.3", 8)]
    [InlineData(null, "172.16.0.9", 16)]
    public void PrefixLength_Mask_GivesPrefix(string? mask, string address, int prefix)
    {
        Assert.Equal(prefix, DhcpClient.PrefixLength(mask is null ? null : Ipv4Address.Parse(mask), Ipv4Address.Parse(address)));
    }
}
