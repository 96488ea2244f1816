using System.Buffers.Binary;
using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net;
using Unisharp.Net.Tcp;
using Unisharp.Net.Wire;
using static Unisharp.Fuzz.StackTarget;

namespace Unisharp.Fuzz;

/// <summary>One run of <see cref="StackTarget"/> over one input.</summary>
internal sealed class StackRun
{
    private const int MaxSteps = 512;
    private readonly byte[] _input;
    private readonly ManualClock _clock = new();
    private readonly QueueDevice _device = new(StackMac);
    private readonly DirectStack _stack;
    private readonly ITcpListener _listener;
    private readonly IUdpSocket _udp;
    private readonly PeerModel[] _peers = [new(PeerClientPort, ListenPort, 1_000_000), new(PeerServerPort, 0, 5_000_000)];
    private readonly List<AppConnection> _connections = [];
    private readonly byte[] _data = new byte[8192];
    private readonly byte[] _udpBuffer = new byte[2048];
    private readonly PendingOperations _pending = new();
    private ValueTask<UdpReceiveResult> _udpReceive;
    private ValueTask<ITcpConnection> _accepting;
    private ValueTask<ITcpConnection> _connecting;
    private int _at;

    public StackRun(byte[] input)
    {
        _input = input;
        _stack = DirectStack.CreateManual(new StackOptions
        {
            Device = _device,
            Clock = _clock,
            Entropy = new SeededEntropy(1),
            Ip = new IpConfiguration(new Ipv4Cidr(StackAddress, 24), null, false),
            Log = new Logger(LogLevel.Quiet),
        });
        _listener = _stack.Tcp.Listen(ListenPort, backlog: 4);
        _udp = _stack.Udp.Bind(UdpPort);
        _accepting = _listener.AcceptAsync();
        _udpReceive = _udp.ReceiveAsync(_udpBuffer);
        // The peer asks for the stack's MAC first, so the stack knows the peer's before it connects.
        Receive(ArpFrame(1, PeerMac, PeerAddress, default, StackAddress));
        Poll();
        _connecting = _stack.Tcp.ConnectAsync(new Ipv4Endpoint(PeerAddress, PeerServerPort));
        Poll();
    }

    public void Execute()
    {
        for (int step = 0; step < MaxSteps && _at < _input.Length; step++)
        {
            byte kind = Byte();
            switch ((Step)(kind & 7))
            {
                case Step.RawFrame:
                    byte[] frame = Bytes(UInt16() % 1600);
                    if ((kind & 0x10) != 0 && frame.Length >= 6)
                    {
                        StackMac.Write(frame);
                    }
                    Receive(frame);
                    break;
                case Step.TcpToListener:
                    Receive(TcpSegment(_peers[0]));
                    break;
                case Step.TcpToClient:
                    Receive(TcpSegment(_peers[1]));
                    break;
                case Step.Time:
                    ushort ms = UInt16();
                    Instant next = _stack.PollAt(_clock.Now);
                    _clock.Now = (kind & 0x80) != 0 && next != Instant.Never && next > _clock.Now
                        ? next
                        : _clock.Now + Duration.FromMilliseconds(ms);
                    break;
                case Step.Udp:
                    Receive(UdpDatagram((kind & 0x80) != 0 ? (ushort)(UdpPort + Byte()) : UdpPort, Bytes(Byte())));
                    break;
                case Step.App:
                    App(Byte());
                    break;
                case Step.Ipv4:
                    Receive(Ipv4Frame((IpProtocol)Byte(), UInt16(), Byte(), Bytes(UInt16() % 1481)));
                    break;
                case Step.Icmp:
                    Receive(IcmpFrame(Byte(), Byte(), UInt32(), Bytes(Byte())));
                    break;
            }
            Poll();
        }
        var stats = _stack.TcpLayer.Stats;
        Summary = $"{_connections.Count} connections ({string.Join(' ', _connections.Select(c => ((DirectTcpConnection)c.Connection).Socket.State))}), " +
            $"{stats.SegmentsReceived} segments in, {stats.SegmentsSent} out; {_stack.Stats}";
    }

    /// <summary>What the last run reached, for <c>fuzz/run --replay</c>'s verbose output.</summary>
    public static string Summary { get; private set; } = "";

    private void App(byte action)
    {
        AppConnection? connection = _connections.Count == 0 ? null : _connections[(action >> 4) % _connections.Count];
        switch (action & 15)
        {
            case 0 or 1 or 2:
                connection?.Write(_data.AsMemory(0, 64 << (action & 3)));
                break;
            case 3 or 4 or 5:
                connection?.Read();
                break;
            case 6:
                connection?.ShutdownWrite();
                break;
            case 7:
                connection?.Connection.Abort();
                break;
            case 8 when _udpReceive.IsCompleted:
                // Echo what came in, as examples/echo does, then wait for the next datagram.
                var received = _udpReceive.Result;
                _pending.Observe(_udp.SendAsync(_udpBuffer.AsMemory(0, received.Length), received.Remote));
                _udpReceive = _udp.ReceiveAsync(_udpBuffer);
                break;
            case 9 when _connecting.IsCompleted:
                _ = Settle(_connecting);
                _peers[1] = new PeerModel(PeerServerPort, 0, _peers[1].Next.Value + 77_777);
                _connecting = _stack.Tcp.ConnectAsync(new Ipv4Endpoint(PeerAddress, PeerServerPort));
                break;
            case 10:
                _pending.Observe(_udp.SendAsync(_data.AsMemory(0, action), new Ipv4Endpoint(new Ipv4Address(PeerAddress.Value + (uint)(action >> 4)), 9)));
                break;
        }
    }

    private void Receive(byte[] frame) => _device.Incoming.Enqueue(frame);

    private void Poll()
    {
        _stack.Poll(_clock.Now);
        foreach (byte[] frame in _device.Sent)
        {
            CheckSent(frame);
        }
        _device.Sent.Clear();
        if (_accepting.IsCompleted)
        {
            if (Settle(_accepting) is { } accepted)
            {
                _connections.Add(new AppConnection(accepted, _pending));
            }
            _accepting = _listener.AcceptAsync();
        }
        if (_connecting.IsCompleted && Settle(_connecting) is { } connected && !_connections.Exists(c => c.Connection == connected))
        {
            _connections.Add(new AppConnection(connected, _pending));
        }
        _pending.Check();
        CheckInvariants();
    }

    /// <summary>The task's connection, or null when it failed as a network operation may.</summary>
    private static ITcpConnection? Settle(ValueTask<ITcpConnection> task)
    {
        try
        {
            return task.Result;
        }
        catch (NetworkException)
        {
            return null;
        }
    }

    private void CheckSent(byte[] frame)
    {
        FuzzTargets.Check(EthernetRepr.TryParse(frame, out var ethernet) == WireError.None, "stack sent a frame that is not Ethernet");
        if (ethernet.EtherType != EtherType.Ipv4)
        {
            FuzzTargets.Check(ethernet.EtherType == EtherType.Arp && ArpRepr.TryParse(frame.AsSpan(EthernetFrame.HeaderLength), out _) == WireError.None,
                $"stack sent a frame of type {ethernet.EtherType}");
            return;
        }
        var error = Ipv4Repr.TryParse(frame.AsSpan(EthernetFrame.HeaderLength), out var ip, out var payload, verifyChecksum: true);
        FuzzTargets.Check(error == WireError.None, $"stack sent a bad IPv4 packet: {error}");
        if (ip.IsFragment)
        {
            return;
        }
        switch (ip.Protocol)
        {
            case IpProtocol.Tcp:
                error = TcpRepr.TryParse(payload, ip.Source, ip.Destination, out var tcp, out _, verifyChecksum: true);
                FuzzTargets.Check(error == WireError.None, $"stack sent a bad TCP segment: {error}");
                if (ip.Destination == PeerAddress)
                {
                    Observe(tcp);
                }
                break;
            case IpProtocol.Udp:
                error = UdpRepr.TryParse(payload, ip.Source, ip.Destination, out _, out _, verifyChecksum: true);
                FuzzTargets.Check(error == WireError.None, $"stack sent a bad UDP datagram: {error}");
                break;
            case IpProtocol.Icmp:
                error = Icmpv4Repr.TryParse(payload, out _, out _);
                FuzzTargets.Check(error == WireError.None, $"stack sent a bad ICMP message: {error}");
                break;
        }
    }

    /// <summary>Follows what the stack sent, so the peer's next segment can acknowledge it.</summary>
    private void Observe(in TcpRepr tcp)
    {
        foreach (var peer in _peers)
        {
            if (tcp.DestinationPort != peer.RemotePort || (peer.LocalPort != 0 && tcp.SourcePort != peer.LocalPort))
            {
                continue;
            }
            peer.LocalPort = tcp.SourcePort;
            SeqNum end = tcp.SequenceNumber + tcp.SegmentLength;
            peer.StackMax = peer.SeenStack ? SeqNum.Max(peer.StackMax, end) : end;
            peer.SeenStack = true;
        }
    }

    private void CheckInvariants()
    {
        var iface = _stack.Interface;
        var options = new Unisharp.Net.Iface.NetworkInterfaceOptions();
        FuzzTargets.Check(iface.ArpCache.Count <= options.ArpCacheCapacity, "ARP cache over its capacity");
        FuzzTargets.Check(iface.ArpPending.Count <= options.ArpPendingCapacity, "ARP pending queue over its capacity");
        FuzzTargets.Check(iface.Reassembly.InProgress <= options.ReassemblyCapacity, "reassembly over its capacity");
        FuzzTargets.Check(iface.Reassembly.BytesHeld <= options.ReassemblyMaxBytes, "reassembly over its byte limit");
        FuzzTargets.Check(iface.Stats.Dropped(DropReason.InternalError) == 0, "a frame hit the internal-error path");
        var tcp = _stack.TcpLayer;
        FuzzTargets.Check(tcp.BufferBytes <= tcp.Settings.MaxBufferBytes, "TCP buffers over their limit");
        FuzzTargets.Check(tcp.HalfOpenCount <= tcp.Settings.MaxHalfOpen, "more half-open connections than allowed");
        FuzzTargets.Check(tcp.TimeWaitCount <= tcp.Settings.MaxTimeWait, "more TIME-WAIT connections than allowed");
        foreach (var connection in _connections)
        {
            connection.Check(tcp);
        }
    }

    private byte[] TcpSegment(PeerModel peer)
    {
        var flags = (TcpFlags)Byte();
        int seqDelta = (sbyte)Byte();
        int ackDelta = (sbyte)Byte();
        ushort window = UInt16();
        byte[] options = Bytes(Byte() % 41 & ~3);
        byte[] data = Bytes(Byte() * 8);
        SeqNum seq = peer.Next + seqDelta;
        SeqNum ack = peer.StackMax + ackDelta;
        int length = TcpPacket.MinHeaderLength + options.Length + data.Length;
        byte[] segment = new byte[length];
        var packet = new TcpPacket(segment);
        packet.SetHeader(peer.RemotePort, peer.LocalPort == 0 ? (ushort)49152 : peer.LocalPort, seq, ack,
            TcpPacket.MinHeaderLength + options.Length, flags, window);
        options.CopyTo(segment.AsSpan(TcpPacket.MinHeaderLength));
        data.CopyTo(segment.AsSpan(TcpPacket.MinHeaderLength + options.Length));
        packet.FillChecksum(PeerAddress, StackAddress);
        if (seqDelta == 0)
        {
            peer.Next = seq + data.Length + ((flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);
        }
        return Ipv4Frame(IpProtocol.Tcp, 0x4000, 0, segment);
    }

    private static byte[] UdpDatagram(ushort port, byte[] data)
    {
        byte[] datagram = new byte[UdpPacket.HeaderLength + data.Length];
        var packet = new UdpPacket(datagram);
        packet.SetHeader(5000, port, datagram.Length);
        data.CopyTo(datagram.AsSpan(UdpPacket.HeaderLength));
        packet.FillChecksum(PeerAddress, StackAddress);
        return Ipv4Frame(IpProtocol.Udp, 0x4000, 0, datagram);
    }

    private static byte[] IcmpFrame(byte type, byte code, uint rest, byte[] data)
    {
        byte[] message = new byte[Icmpv4Packet.HeaderLength + data.Length];
        message[0] = type;
        message[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), rest);
        data.CopyTo(message.AsSpan(Icmpv4Packet.HeaderLength));
        new Icmpv4Packet(message).FillChecksum();
        return Ipv4Frame(IpProtocol.Icmp, 0x4000, 0, message);
    }

    private static byte[] Ipv4Frame(IpProtocol protocol, ushort fragmentField, byte identification, ReadOnlySpan<byte> payload)
    {
        byte[] frame = new byte[EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength + payload.Length];
        new EthernetRepr(StackMac, PeerMac, EtherType.Ipv4).Emit(frame);
        var ip = new Ipv4Repr(PeerAddress, StackAddress, protocol, payload.Length, Identification: identification,
            DontFragment: (fragmentField & 0x4000) != 0, MoreFragments: (fragmentField & 0x2000) != 0, FragmentOffset: (fragmentField & 0x1FFF) * 8);
        ip.Emit(frame.AsSpan(EthernetFrame.HeaderLength));
        payload.CopyTo(frame.AsSpan(EthernetFrame.HeaderLength + Ipv4Repr.HeaderLength));
        return frame;
    }

    private static byte[] ArpFrame(ushort operation, MacAddress senderMac, Ipv4Address sender, MacAddress targetMac, Ipv4Address target)
    {
        byte[] frame = new byte[EthernetFrame.HeaderLength + ArpRepr.BufferLength];
        new EthernetRepr(MacAddress.Broadcast, senderMac, EtherType.Arp).Emit(frame);
        new ArpRepr((ArpOperation)operation, senderMac, sender, targetMac, target).Emit(frame.AsSpan(EthernetFrame.HeaderLength));
        return frame;
    }

    private byte Byte() => _at < _input.Length ? _input[_at++] : (byte)0;

    private ushort UInt16() => (ushort)(Byte() << 8 | Byte());

    private uint UInt32() => (uint)UInt16() << 16 | UInt16();

    private byte[] Bytes(int count)
    {
        count = Math.Min(count, _input.Length - _at);
        byte[] bytes = _input.AsSpan(_at, count).ToArray();
        _at += count;
        return bytes;
    }

    /// <summary>The peer's side of one connection: its next sequence number and the highest the stack has sent.</summary>
    private sealed class PeerModel(ushort remotePort, ushort localPort, uint isn)
    {
        public ushort RemotePort { get; } = remotePort;
        public ushort LocalPort { get; set; } = localPort;
        public SeqNum Next { get; set; } = new(isn);
        public SeqNum StackMax { get; set; }
        public bool SeenStack { get; set; }
    }
}
