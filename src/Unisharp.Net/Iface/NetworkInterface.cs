using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net.Arp;
using Unisharp.Net.Dhcp;
using Unisharp.Net.Ip;
using Unisharp.Net.Udp;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Iface;

/// <summary>
/// The synchronous core of the direct stack (smoltcp's iface): Ethernet, ARP, IPv4, ICMP, UDP, the
/// DHCP client, and IPv6 with ICMPv6 and neighbour discovery over one <see cref="INetworkDevice"/>. Nothing runs by itself: <see cref="Poll"/> takes
/// the pending frames, runs the timers due at the <see cref="Instant"/> it is given and transmits;
/// <see cref="PollAt"/> says when it next needs to run. One thread calls both; sockets may be used
/// from any thread.
/// </summary>
internal sealed partial class NetworkInterface : IDhcpClientHost
{
    /// <summary>Room before an IP payload in the transmit scratch buffer: Ethernet (14) and IPv4 (20) headers.</summary>
    private const int Headroom = EthernetFrame.HeaderLength + Ipv4Packet.MinHeaderLength;
    private const string Source = "net";

    private readonly INetworkDevice _device;
    private readonly Logger _log;
    private readonly IEntropy _entropy;
    private readonly NetworkInterfaceOptions _options;
    private readonly MacAddress _mac;
    private readonly int _mtu;
    private readonly bool _checksumOffload;
    private readonly bool _segmentationOffload;
    /// <summary>Where IP payloads are built before they are framed into the device's buffer.</summary>
    private readonly byte[] _tx;
    private readonly ArpCache _arp;
    private readonly ArpPendingQueue _arpPending;
    private readonly ReassemblyBuffer _reassembly;
    private readonly TokenBucket _icmpErrors;
    private readonly DhcpClient? _dhcp;
    private readonly UdpSocketSet _udp;
    private readonly MacAddress[] _multicast = new MacAddress[8];
    private int _multicastCount;
    private IIpv4Protocol? _tcp;
    private volatile InterfaceAddress? _address;
    private ushort _nextIpId;
    private Instant _now;
    private bool _receiveLimitHit;

    public NetworkInterface(INetworkDevice device, IEntropy entropy, Logger log, IpConfiguration ip, Instant now,
        NetworkInterfaceOptions? options = null)
    {
        _device = device;
        _entropy = entropy;
        _log = log;
        _options = options ?? new NetworkInterfaceOptions();
        _mac = device.MacAddress;
        _mtu = device.Capabilities.Mtu;
        _checksumOffload = device.Capabilities.ChecksumOffload || device.Capabilities.SegmentationOffload;
        _segmentationOffload = device.Capabilities.SegmentationOffload;
        if (_mtu < 68)
        {
            // RFC 791 §3.2: every internet module must be able to forward a datagram of 68 octets without fragmentation.
            throw new ArgumentException($"device {device.Name} has MTU {_mtu}, below IPv4's minimum of 68", nameof(device));
        }
        _tx = new byte[Headroom + Ipv4Packet.MaxLength];
        _arp = new ArpCache(_options.ArpCacheCapacity);
        _arpPending = new ArpPendingQueue(_options.ArpPendingCapacity, _options.ArpPendingPerDestination);
        _reassembly = new ReassemblyBuffer(_options.ReassemblyCapacity, _options.ReassemblyTimeout, _options.ReassemblyMaxBytes);
        _icmpErrors = new TokenBucket(_options.IcmpErrorBurst, _options.IcmpErrorInterval);
        Span<byte> seed = stackalloc byte[6];
        entropy.Fill(seed);
        _nextIpId = (ushort)(seed[0] | seed[1] << 8);
        _udp = new UdpSocketSet((uint)(seed[2] | seed[3] << 8 | seed[4] << 16 | seed[5] << 24));
        _now = now;
        if (ip.Address is { } cidr)
        {
            if (ip.Dhcp)
            {
                _log.Warning(Source, $"a static address ({cidr}) and DHCP were both asked for; using the static address");
            }
            if (ip.Gateway is { } gateway && !cidr.Contains(gateway))
            {
                _log.Warning(Source, $"gateway {gateway} is not on {cidr}; it will be reached by ARP on the link anyway");
            }
            ConfigureAddress(cidr, ip.Gateway, now);
        }
        else
        {
            _dhcp = new DhcpClient(_mac, entropy, log);
            _dhcp.Start(now);
            _log.Debug("dhcp", $"no static address on {device.Name}; asking DHCP");
        }
        InitializeIpv6(ip, now);
    }

    public MacAddress MacAddress => _mac;

    public int Mtu => _mtu;

    /// <summary>The device completes partial TCP checksums (<see cref="SendIp"/> with a partial checksum).</summary>
    public bool ChecksumOffload => _checksumOffload;

    /// <summary>The largest TCP payload one segment may carry for the device to cut into MSS-sized segments; 0 without offload.</summary>
    public int MaxOffloadSegment => _segmentationOffload ? NetworkDeviceCapabilities.MaxOffloadPacketLength - Ipv4Repr.HeaderLength - TcpPacket.MaxHeaderLength : 0;

    public NetworkStatistics Stats { get; } = new();

    /// <summary>The current address, or null before DHCP has one. Safe from any thread.</summary>
    public InterfaceAddress? Address => _address;

    /// <summary>Called on the polling thread when the address is configured, changes or is lost (null).</summary>
    public Action<InterfaceAddress?>? AddressChanged { get; set; }

    public UdpSocketSet Udp => _udp;

    /// <summary>The injected random source, for protocols plugged in above (TCP's initial sequence numbers).</summary>
    internal IEntropy Entropy => _entropy;

    public DhcpClient? Dhcp => _dhcp;

    /// <summary>For tests of the memory bounds.</summary>
    internal ArpCache ArpCache => _arp;
    internal ArpPendingQueue ArpPending => _arpPending;
    internal ReassemblyBuffer Reassembly => _reassembly;

    /// <summary>Plugs in a transport (TCP) above IPv4.</summary>
    public void RegisterProtocol(IIpv4Protocol protocol)
    {
        if (protocol.Protocol != IpProtocol.Tcp)
        {
            throw new ArgumentException("only TCP plugs in; ICMP and UDP are built in", nameof(protocol));
        }
        _tcp = protocol;
    }

    /// <summary>Accepts frames sent to <paramref name="group"/> (a multicast MAC), up to eight groups.</summary>
    public bool JoinMulticast(MacAddress group)
    {
        if (!group.IsMulticast || _multicastCount == _multicast.Length)
        {
            return false;
        }
        _multicast[_multicastCount++] = group;
        return true;
    }

    /// <summary>Receives all pending frames (up to the per-poll limit), runs due timers and transmits queued datagrams.</summary>
    public void Poll(Instant now)
    {
        _now = now;
        // Each frame is processed where the device lent it: replies are transmitted while it is held, which every
        // device allows (INetworkDevice), so nothing is copied before the payload reaches its socket.
        var handler = new InPlaceFrameHandler(this, now);
        int received = 0;
        while (received < _options.MaxFramesPerPoll && _device.TryReceive(ref handler))
        {
            received++;
        }
        // Stopped at the limit: more frames may be waiting, so the next poll is due at once.
        _receiveLimitHit = received == _options.MaxFramesPerPoll;
        PollTimers(now);
        _tcp?.Poll(now);
        TransmitUdp(now);
    }

    private void ReceiveFrame(Span<byte> frame, bool checksumTrusted, Instant now)
    {
        Stats.FramesReceived++;
        try
        {
            ProcessFrame(frame, checksumTrusted, now);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug must not take the device loop down: count it, say so, carry on with the next frame.
            Stats.Drop(DropReason.InternalError);
            _log.Error(Source, $"failed on a received frame: {e.GetType().Name}: {e.Message}");
            _log.Debug(Source, e.ToString());
        }
    }

    /// <summary>When <see cref="Poll"/> must next run even if no frame arrives: now, a timer, or <see cref="Instant.Never"/>.</summary>
    public Instant PollAt(Instant now)
    {
        if (_receiveLimitHit)
        {
            return now;
        }
        foreach (var socket in _udp.Sockets)
        {
            if (CanSendNow(socket, now))
            {
                return now;
            }
        }
        var at = Instant.Min(_arp.PollAt(), _reassembly.PollAt());
        at = Instant.Min(at, _conflictAt);
        at = Instant.Min(at, PollAtIpv6());
        if (_dhcp is not null)
        {
            at = Instant.Min(at, _dhcp.PollAt());
        }
        if (_tcp is not null)
        {
            at = Instant.Min(at, _tcp.PollAt(now));
        }
        return at;
    }

    private void PollTimers(Instant now)
    {
        PollArp(now);
        int expired = _reassembly.Expire(now);
        for (int i = 0; i < expired; i++)
        {
            Stats.Drop(DropReason.ReassemblyTimeout);
        }
        PollConflictDetection(now);
        PollIpv6(now);
        if (_dhcp is not null && now >= _dhcp.PollAt())
        {
            _dhcp.Poll(now, this);
        }
    }

    private void ProcessFrame(Span<byte> frame, bool checksumTrusted, Instant now)
    {
        if (EthernetFrame.TryCreate(frame, out var eth) != WireError.None)
        {
            Stats.Drop(DropReason.MalformedEthernet);
            return;
        }
        var destination = eth.Destination;
        if (destination != _mac && !destination.IsBroadcast && !IsJoined(destination))
        {
            Stats.Drop(DropReason.NotOurMac);
            return;
        }
        // A priority tag (VLAN 0) is fine; other VLANs are not ours (we are configured for none).
        if (eth.VlanId > 0)
        {
            Stats.Drop(DropReason.WrongVlan);
            return;
        }
        switch (eth.EtherType)
        {
            case EtherType.Arp:
                ProcessArp(eth.Payload, now);
                break;
            case EtherType.Ipv4:
                ProcessIpv4(eth.Payload, checksumTrusted, now);
                break;
            case EtherType.Ipv6 when _ipv6:
                ProcessIpv6(eth.Payload, now);
                break;
            default:
                Stats.Drop(DropReason.UnknownEtherType);
                break;
        }
    }

    private bool IsJoined(MacAddress destination)
    {
        for (int i = 0; i < _multicastCount; i++)
        {
            if (_multicast[i] == destination)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Processes each lent frame in the device's buffer.</summary>
    private readonly struct InPlaceFrameHandler(NetworkInterface owner, Instant now) : IFrameHandler
    {
        public void Handle(Span<byte> frame) => owner.ReceiveFrame(frame, checksumTrusted: false, now);

        /// <remarks>A partial checksum (never on a wire) or one the device verified need not be checked again.</remarks>
        public void Handle(Span<byte> frame, in FrameOffload offload) => owner.ReceiveFrame(frame, offload.ChecksumTrusted, now);
    }
}
