using Unisharp.Net.Iface;
using Unisharp.Net.Wire;
using static Unisharp.Net.Tests.Core.InterfaceFixture;

namespace Unisharp.Net.Tests.Core;

public class NetworkInterfaceTests
{
    [Fact]
    public void Poll_CapturedArpRequest_SendsCapturedReply()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        device.Incoming.Enqueue(Captures.ArpRequest);

        iface.Poll(Instant.Zero);

        Assert.Contains(device.Sent, f => f.AsSpan().SequenceEqual(Captures.ArpReply));
        Assert.Equal(1, iface.Stats.ArpRepliesSent);
        Assert.True(iface.ArpCache.TryLookup(IpA, Instant.Zero, out var mac));
        Assert.Equal(MacA, mac);
    }

    [Fact]
    public void Poll_Start_ProbesThenAnnouncesTheAddress()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        var now = Instant.Zero;
        while (now != Instant.Never)
        {
            iface.Poll(now);
            now = iface.PollAt(now);
        }

        var arps = ArpPackets(device.Sent);
        // RFC 5227: probes have sender address 0.0.0.0; announcements (gratuitous ARP) carry ours as sender and target.
        Assert.Equal(4, arps.Count);
        Assert.All(arps.Take(2), a => Assert.Equal(new ArpRepr(ArpOperation.Request, MacB, Ipv4Address.Any, MacAddress.Zero, IpB), a));
        Assert.All(arps.Skip(2), a => Assert.Equal(new ArpRepr(ArpOperation.Request, MacB, IpB, MacAddress.Zero, IpB), a));
        Assert.False(iface.IsDetectingConflicts);
    }

    [Fact]
    public void Poll_CapturedEchoRequest_RepliesWithCapturedIcmp()
    {
        var device = new TestDevice(MacB);
        var iface = CreateKnowingA(device);
        device.Incoming.Enqueue(Captures.EchoRequest);

        iface.Poll(Instant.Zero);

        var reply = Assert.Single(Ipv4Frames(device.Sent));
        Assert.Equal(Captures.EchoReply.AsSpan(0, 14).ToArray(), reply.AsSpan(0, 14).ToArray());
        Assert.Equal(Captures.EchoReply.AsSpan(34).ToArray(), reply.AsSpan(34).ToArray());
        Assert.Equal(WireError.None, Ipv4Repr.TryParse(reply.AsSpan(14).ToArray(), out var ip, out _));
        Assert.Equal((IpB, IpA, IpProtocol.Icmp, 64), (ip.Source, ip.Destination, ip.Protocol, ip.TimeToLive));
        Assert.Equal(1, iface.Stats.EchoRepliesSent);
    }

    [Fact]
    public void Poll_CapturedUdpToClosedPort_SendsCapturedPortUnreachable()
    {
        var device = new TestDevice(MacB);
        var iface = CreateKnowingA(device);
        device.Incoming.Enqueue(Captures.UdpToClosedPort);

        iface.Poll(Instant.Zero);

        var error = Assert.Single(Ipv4Frames(device.Sent));
        // Linux sets TOS 0xC0 on ICMP errors and we do not; from the ICMP header on, the bytes are the same.
        Assert.Equal(Captures.PortUnreachable.AsSpan(34).ToArray(), error.AsSpan(34).ToArray());
        Assert.Equal(1, iface.Stats.Dropped(DropReason.NoSocket));
        Assert.Equal(1, iface.Stats.IcmpUnreachableSent);
    }

    [Fact]
    public void Poll_CapturedUdpToBoundPort_DeliversAndRepliesWithCapturedDatagram()
    {
        var device = new TestDevice(MacB);
        var iface = CreateKnowingA(device);
        var socket = iface.Udp.Bind(7000);
        device.Incoming.Enqueue(Captures.UdpHello);
        iface.Poll(Instant.Zero);

        byte[] buffer = new byte[100];
        Assert.True(socket.TryReceive(buffer, out var received));
        Assert.Equal("hello"u8.ToArray(), buffer.AsSpan(0, received.Length).ToArray());
        Assert.Equal(new Ipv4Endpoint(IpA, 5000), received.Remote);
        // Nothing to send: the next deadline is a timer (the second address probe), not now.
        var next = iface.PollAt(Instant.Zero);
        Assert.True(next > Instant.Zero, $"the next poll is at {next.Microseconds} us");

        Assert.True(socket.TrySend("HELLO"u8, received.Remote));
        Assert.Equal(Instant.FromMilliseconds(5), iface.PollAt(Instant.FromMilliseconds(5)));
        iface.Poll(Instant.FromMilliseconds(5));

        var reply = Assert.Single(Ipv4Frames(device.Sent));
        Assert.Equal(Captures.UdpHelloReply.AsSpan(34).ToArray(), reply.AsSpan(34).ToArray());
        Assert.Equal(1, iface.Stats.UdpDatagramsReceived);
        Assert.Equal(1, iface.Stats.UdpDatagramsSent);
    }

    [Fact]
    public void Poll_CapturedFragmentsReversed_ReassemblesAndRepliesInFragments()
    {
        var device = new TestDevice(MacB);
        var iface = CreateKnowingA(device);
        device.Incoming.Enqueue(Captures.FragmentedEchoLast);
        device.Incoming.Enqueue(Captures.FragmentedEchoFirst);

        iface.Poll(Instant.Zero);

        var replies = Ipv4Frames(device.Sent);
        Assert.Equal(1, iface.Stats.DatagramsReassembled);
        Assert.Equal(2, replies.Count);
        // Linux's reply was cut the same way: 1480 bytes, then the last 528 at offset 1480.
        Assert.Equal(Captures.FragmentedEchoLast.Length, replies[1].Length);
        Assert.Equal(Captures.FragmentedEchoFirst.Length, replies[0].Length);
        Ipv4Repr.TryParse(replies[0].AsSpan(14).ToArray(), out var first, out _);
        Ipv4Repr.TryParse(replies[1].AsSpan(14).ToArray(), out var last, out _);
        Assert.True(first.MoreFragments);
        Assert.Equal(1480, last.FragmentOffset);
        Assert.False(last.MoreFragments);
        Assert.Equal(first.Identification, last.Identification);
    }

    [Fact]
    public void SendEchoRequest_CapturedData_FragmentsExactlyAsLinux()
    {
        var reassembly = new Ip.ReassemblyBuffer();
        foreach (byte[] frame in new[] { Captures.FragmentedEchoFirst, Captures.FragmentedEchoLast })
        {
            Ipv4Repr.TryParse(frame.AsSpan(14).ToArray(), out var ip, out var payload);
            reassembly.Add(ip, payload, Instant.Zero);
        }
        byte[] message = reassembly.TakeCompleted(out _).ToArray();
        Icmpv4Repr.TryParse(message, out var request, out var data);
        // Play A: send the same echo request to B.
        var device = new TestDevice(MacA);
        var iface = Create(device, "198.18.0.1/24");
        device.Incoming.Enqueue(Captures.ArpReply);
        iface.ArpCache.Update(IpB, MacB, Instant.Zero, create: true);
        iface.Poll(Instant.Zero);
        device.TakeSent();

        Assert.True(iface.SendEchoRequest(IpB, request.Identifier, request.SequenceNumber, data, Instant.Zero));

        var fragments = Ipv4Frames(device.Sent);
        Assert.Equal(2, fragments.Count);
        Assert.Equal(Captures.FragmentedEchoFirst.AsSpan(34).ToArray(), fragments[0].AsSpan(34).ToArray());
        Assert.Equal(Captures.FragmentedEchoLast.AsSpan(34).ToArray(), fragments[1].AsSpan(34).ToArray());
        Assert.Equal(2, iface.Stats.FragmentsSent);
    }

    [Fact]
    public void SendIp_DontFragmentOverMtu_DroppedAndCounted()
    {
        var device = new TestDevice(MacB);
        var iface = CreateKnowingA(device);

        Assert.False(iface.SendIp(IpA, IpProtocol.Udp, 1481, Instant.Zero, dontFragment: true));
        Assert.True(iface.SendIp(IpA, IpProtocol.Udp, 1480, Instant.Zero, dontFragment: true));

        Assert.Equal(1, iface.Stats.Dropped(DropReason.FragmentationNeeded));
        Assert.Single(Ipv4Frames(device.Sent));
    }

    [Fact]
    public void SendUdp_UnknownNeighbour_QueuesUntilArpReply()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        iface.Poll(Instant.Zero);
        device.TakeSent();
        var socket = iface.Udp.Bind(7000);

        socket.TrySend("HELLO"u8, new Ipv4Endpoint(IpA, 5000));
        iface.Poll(Instant.FromMilliseconds(1));
        var request = Assert.Single(ArpPackets(device.TakeSent()));
        Assert.Equal(new ArpRepr(ArpOperation.Request, MacB, IpB, MacAddress.Zero, IpA), request);
        Assert.Equal(1, iface.ArpPending.Count);

        device.Incoming.Enqueue(ReplyFromA());
        iface.Poll(Instant.FromMilliseconds(2));

        var datagram = Assert.Single(Ipv4Frames(device.Sent));
        Assert.Equal(Captures.UdpHelloReply.AsSpan(34).ToArray(), datagram.AsSpan(34).ToArray());
        Assert.Equal(0, iface.ArpPending.Count);
    }

    [Fact]
    public void SendUdp_NeighbourNeverAnswers_DropsQueuedDatagramsAfterRetries()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        var socket = iface.Udp.Bind(7000);
        for (int i = 0; i < 6; i++)
        {
            socket.TrySend("x"u8, new Ipv4Endpoint(IpA, 5000));
        }
        var now = Instant.Zero;
        for (int steps = 0; steps < 100 && now != Instant.Never; steps++)
        {
            iface.Poll(now);
            now = iface.PollAt(now);
        }

        // Four wait in the ARP queue; two stay in the socket and try again (five more requests) once the first resolution fails.
        Assert.Equal(10, iface.Stats.ArpRequestsSent);
        Assert.Equal(6, iface.Stats.Dropped(DropReason.ArpUnresolved));
        Assert.Equal(0, iface.Stats.Dropped(DropReason.ArpQueueFull));
        Assert.Equal(0, iface.ArpPending.Count);
        Assert.False(socket.HasPendingSend);
    }

    [Fact]
    public void SendIp_ArpQueueFull_DropsAndCounts()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);

        for (int i = 0; i < 5; i++)
        {
            iface.SendIp(IpA, IpProtocol.Udp, 8, Instant.Zero);
        }

        Assert.Equal(4, iface.ArpPending.Count);
        Assert.Equal(1, iface.Stats.Dropped(DropReason.ArpQueueFull));
    }

    [Fact]
    public void SendUdp_OffLink_ResolvesTheGateway()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device, gateway: "198.18.0.254");
        iface.Poll(Instant.Zero);
        device.TakeSent();
        var socket = iface.Udp.Bind(7000);

        socket.TrySend("x"u8, new Ipv4Endpoint(Ipv4Address.Parse("198.19.5.5"), 53));
        iface.Poll(Instant.FromMilliseconds(1));

        var request = Assert.Single(ArpPackets(device.Sent));
        Assert.Equal(Ipv4Address.Parse("198.18.0.254"), request.TargetIp);
    }

    [Fact]
    public void SendUdp_OffLinkWithoutGateway_DroppedNoRoute()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        var socket = iface.Udp.Bind(7000);

        socket.TrySend("x"u8, new Ipv4Endpoint(Ipv4Address.Parse("198.19.5.5"), 53));
        iface.Poll(Instant.Zero);

        Assert.Equal(1, iface.Stats.Dropped(DropReason.NoRoute));
    }

    [Fact]
    public void SendUdp_Broadcast_GoesToBroadcastMacWithoutArp()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        iface.Poll(Instant.Zero);
        device.TakeSent();
        var socket = iface.Udp.Bind(7000);

        socket.TrySend("x"u8, new Ipv4Endpoint(Ipv4Address.Parse("198.18.0.255"), 9));
        iface.Poll(Instant.FromMilliseconds(1));

        var frame = Assert.Single(device.Sent);
        Assert.Equal(MacAddress.Broadcast, MacAddress.Read(frame));
    }

    [Fact]
    public void Poll_UdpToClosedPortFlood_RateLimitsUnreachables()
    {
        var device = new TestDevice(MacB);
        var iface = CreateKnowingA(device);
        for (int i = 0; i < 50; i++)
        {
            device.Incoming.Enqueue(Captures.UdpToClosedPort);
        }

        iface.Poll(Instant.Zero);

        Assert.Equal(10, iface.Stats.IcmpUnreachableSent);
        Assert.Equal(40, iface.Stats.Dropped(DropReason.IcmpRateLimited));
        // One more token 100 ms later.
        device.Incoming.Enqueue(Captures.UdpToClosedPort);
        device.Incoming.Enqueue(Captures.UdpToClosedPort);
        iface.Poll(Instant.FromMilliseconds(100));
        Assert.Equal(11, iface.Stats.IcmpUnreachableSent);
    }

    [Fact]
    public void Poll_BroadcastUdpToClosedPort_NoUnreachable()
    {
        var device = new TestDevice(MacB);
        var iface = CreateKnowingA(device);
        byte[] frame = Captures.UdpToClosedPort;
        // To the subnet's broadcast address: the UDP checksum changes with the pseudo-header, so rebuild it.
        byte[] datagram = new byte[15];
        new UdpRepr(5000, 7001, 7).Emit(datagram, frame.AsSpan(42), IpA, Ipv4Address.Parse("198.18.0.255"));
        byte[] broadcast = new byte[14 + 20 + 15];
        new EthernetRepr(MacAddress.Broadcast, MacA, EtherType.Ipv4).Emit(broadcast);
        datagram.CopyTo(broadcast, 34);
        new Ipv4Repr(IpA, Ipv4Address.Parse("198.18.0.255"), IpProtocol.Udp, 15).Emit(broadcast.AsSpan(14));
        device.Incoming.Enqueue(broadcast);

        iface.Poll(Instant.Zero);

        Assert.Equal(1, iface.Stats.Dropped(DropReason.NoSocket));
        Assert.Empty(Ipv4Frames(device.Sent));
    }

    [Fact]
    public void Poll_FrameForAnotherMac_Dropped()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        byte[] frame = Captures.EchoRequest;
        frame[5] = 0x0c;
        device.Incoming.Enqueue(frame);

        iface.Poll(Instant.Zero);

        Assert.Equal(1, iface.Stats.Dropped(DropReason.NotOurMac));
        Assert.Empty(Ipv4Frames(device.Sent));
    }

    [Fact]
    public void Poll_MulticastJoined_AcceptedElseDropped()
    {
        var device = new TestDevice(MacB);
        var iface = CreateKnowingA(device);
        var group = MacAddress.Parse("01:00:5e:00:00:fb");
        byte[] frame = Captures.UdpToClosedPort;
        group.Write(frame);
        device.Incoming.Enqueue(frame);
        iface.Poll(Instant.Zero);
        Assert.Equal(1, iface.Stats.Dropped(DropReason.NotOurMac));

        Assert.True(iface.JoinMulticast(group));
        device.Incoming.Enqueue(frame);
        iface.Poll(Instant.Zero);
        Assert.Equal(1, iface.Stats.Dropped(DropReason.NoSocket));
    }

    [Fact]
    public void Poll_TaggedForAnotherVlan_Dropped()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        byte[] tagged = [.. Captures.ArpRequest.AsSpan(0, 12), 0x81, 0x00, 0x00, 0x2A, .. Captures.ArpRequest.AsSpan(12)];
        byte[] priority = [.. Captures.ArpRequest.AsSpan(0, 12), 0x81, 0x00, 0xA0, 0x00, .. Captures.ArpRequest.AsSpan(12)];
        device.Incoming.Enqueue(tagged);
        device.Incoming.Enqueue(priority);

        iface.Poll(Instant.Zero);

        Assert.Equal(1, iface.Stats.Dropped(DropReason.WrongVlan));
        Assert.Equal(1, iface.Stats.ArpRepliesSent);
    }

    [Fact]
    public void Poll_DatagramForAnotherAddress_Dropped()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device, "198.18.0.3/24");
        device.Incoming.Enqueue(Captures.EchoRequest);

        iface.Poll(Instant.Zero);

        Assert.Equal(1, iface.Stats.Dropped(DropReason.NotOurAddress));
    }

    [Fact]
    public void Poll_ArpClaimingOurAddress_CountsConflictAndDefends()
    {
        var device = new TestDevice(MacA);
        var iface = Create(device, "198.18.0.2/24");
        iface.Poll(Instant.Zero);
        device.TakeSent();
        device.Incoming.Enqueue(Captures.ArpReply);

        iface.Poll(Instant.FromMilliseconds(1));

        Assert.Equal(1, iface.Stats.AddressConflicts);
        var defence = Assert.Single(ArpPackets(device.Sent));
        Assert.Equal(new ArpRepr(ArpOperation.Request, MacA, IpB, MacAddress.Zero, IpB), defence);
    }

    [Fact]
    public void Poll_ProbeForOurAddressWhileProbing_CountsConflict()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        iface.Poll(Instant.Zero);
        iface.Poll(Instant.FromMilliseconds(1000));
        // Both probes are out; the first announcement is due at 2 s.
        device.Incoming.Enqueue(ProbeFromA());

        iface.Poll(Instant.FromMilliseconds(1500));

        Assert.Equal(1, iface.Stats.AddressConflicts);
    }

    [Fact]
    public void Poll_ProbeForOurAddressAfterProbing_Answered()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        var now = Instant.Zero;
        while (now != Instant.Never)
        {
            iface.Poll(now);
            now = iface.PollAt(now);
        }
        device.TakeSent();
        device.Incoming.Enqueue(ProbeFromA());

        iface.Poll(Instant.FromMilliseconds(10_000));

        Assert.Equal(0, iface.Stats.AddressConflicts);
        var answer = Assert.Single(ArpPackets(device.Sent));
        Assert.Equal(new ArpRepr(ArpOperation.Reply, MacB, IpB, MacA, Ipv4Address.Any), answer);
    }

    [Fact]
    public void Poll_DeviceQueueFull_CountsDeviceBusy()
    {
        var device = new TestDevice(MacB);
        var iface = Create(device);
        device.TransmitFull = true;
        device.Incoming.Enqueue(Captures.ArpRequest);

        iface.Poll(Instant.Zero);

        Assert.True(iface.Stats.Dropped(DropReason.DeviceBusy) >= 1);
    }

    [Fact]
    public void Poll_UnknownProtocol_SendsProtocolUnreachable()
    {
        var device = new TestDevice(MacB);
        var iface = CreateKnowingA(device);
        byte[] frame = Captures.EchoRequest;
        frame[14 + 9] = 47; // GRE
        frame[14 + 10] = 0;
        frame[14 + 11] = 0;
        ushort checksum = InternetChecksum.Compute(frame.AsSpan(14, 20));
        frame[14 + 10] = (byte)(checksum >> 8);
        frame[14 + 11] = (byte)checksum;
        device.Incoming.Enqueue(frame);

        iface.Poll(Instant.Zero);

        var error = Assert.Single(Ipv4Frames(device.Sent));
        Assert.Equal((byte)Icmpv4Type.DestinationUnreachable, error[34]);
        Assert.Equal(Icmpv4Repr.CodeProtocolUnreachable, error[35]);
        Assert.Equal(1, iface.Stats.Dropped(DropReason.UnknownProtocol));
    }

    [Fact]
    public void Poll_MoreFramesThanPerPollLimit_AsksToBePolledAgainAtOnce()
    {
        var device = new TestDevice(MacB);
        var iface = CreateKnowingA(device, new NetworkInterfaceOptions { MaxFramesPerPoll = 4 });
        for (int i = 0; i < 6; i++)
        {
            device.Incoming.Enqueue(Captures.EchoRequest);
        }

        iface.Poll(Instant.FromMilliseconds(1));
        Assert.Equal(2, device.Incoming.Count);
        Assert.Equal(Instant.FromMilliseconds(1), iface.PollAt(Instant.FromMilliseconds(1)));
        iface.Poll(Instant.FromMilliseconds(1));

        Assert.Empty(device.Incoming);
        Assert.Equal(6, iface.Stats.EchoRepliesSent);
        var next = iface.PollAt(Instant.FromMilliseconds(1));
        Assert.True(next > Instant.FromMilliseconds(1), $"the next poll is at {next.Microseconds} us");
    }

    [Fact]
    public void UdpBind_SamePortTwice_AddressInUse()
    {
        var iface = Create(new TestDevice(MacB));
        iface.Udp.Bind(53);

        var e = Assert.Throws<NetworkException>(() => iface.Udp.Bind(53));
        Assert.Equal(NetworkError.AddressInUse, e.Error);
        Assert.InRange(iface.Udp.Bind(0).Port, 49152, 65535);
    }

    private static byte[] ProbeFromA()
    {
        byte[] frame = new byte[42];
        new EthernetRepr(MacAddress.Broadcast, MacA, EtherType.Arp).Emit(frame);
        new ArpRepr(ArpOperation.Request, MacA, Ipv4Address.Any, MacAddress.Zero, IpB).Emit(frame.AsSpan(14));
        return frame;
    }

    private static byte[] ReplyFromA()
    {
        byte[] frame = new byte[42];
        new EthernetRepr(MacB, MacA, EtherType.Arp).Emit(frame);
        new ArpRepr(ArpOperation.Reply, MacA, IpA, MacB, IpB).Emit(frame.AsSpan(14));
        return frame;
    }

    private static byte[] ArpFrame(MacAddress destination, in ArpRepr arp)
    {
        byte[] frame = new byte[EthernetRepr.BufferLength + ArpRepr.BufferLength];
        new EthernetRepr(destination, arp.SenderMac, EtherType.Arp).Emit(frame);
        arp.Emit(frame.AsSpan(EthernetRepr.BufferLength));
        return frame;
    }

    [Fact]
    public void Poll_GatewayPoisonedByUnsolicitedArp_ProbedAndReResolved()
    {
        var poison = MacAddress.Parse("02:00:00:00:00:66");
        var device = new TestDevice(MacB);
        // A (198.18.0.1) is the gateway; B learns its MAC from A's request.
        var iface = Create(device, gateway: "198.18.0.1");
        device.Incoming.Enqueue(Captures.ArpRequest);
        for (var t = Instant.Zero; t < Instant.FromMilliseconds(5_000); t += Duration.FromMilliseconds(500))
        {
            iface.Poll(t);
        }
        device.TakeSent();
        var far = Ipv4Address.Parse("198.19.0.9");

        // A directed reply nobody asked for says the gateway moved: it is taken, but checked before long.
        device.Incoming.Enqueue(ArpFrame(MacB, new ArpRepr(ArpOperation.Reply, poison, IpA, MacB, IpB)));
        iface.Poll(Instant.FromMilliseconds(6_000));
        Assert.True(iface.SendEchoRequest(far, 1, 1, "x"u8, Instant.FromMilliseconds(6_000)));
        Assert.Equal(poison, MacAddress.Read(Assert.Single(Ipv4Frames(device.TakeSent()))));

        // Nobody answers at the poisoned MAC: three unicast probes, then the entry is gone.
        for (var t = Instant.FromMilliseconds(6_000); t <= Instant.FromMilliseconds(15_000); t += Duration.FromMilliseconds(100))
        {
            iface.Poll(t);
        }
        var probes = device.TakeSent();
        Assert.Equal(3, probes.Count);
        Assert.All(probes, f => Assert.Equal(poison, MacAddress.Read(f)));
        Assert.All(ArpPackets(probes), a => Assert.Equal(IpA, a.TargetIp));

        // The next datagram resolves the gateway afresh, by broadcast; the real one answers.
        Assert.True(iface.SendEchoRequest(far, 1, 2, "x"u8, Instant.FromMilliseconds(15_000)));
        iface.Poll(Instant.FromMilliseconds(15_000));
        var request = Assert.Single(device.TakeSent());
        Assert.Equal(MacAddress.Broadcast, MacAddress.Read(request));
        device.Incoming.Enqueue(ArpFrame(MacB, new ArpRepr(ArpOperation.Reply, MacA, IpA, MacB, IpB)));
        iface.Poll(Instant.FromMilliseconds(15_010));
        Assert.Equal(MacA, MacAddress.Read(Assert.Single(Ipv4Frames(device.TakeSent()))));
    }
}
