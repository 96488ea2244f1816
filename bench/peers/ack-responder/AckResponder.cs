using System.Buffers.Binary;
using System.Diagnostics;
using Unisharp.Devices;
using Unisharp.Net;
using Unisharp.Targets.Unix.Network;

/// <summary>
/// A TCP receiver without a stack: every frame read from the TAP is looked at where it lies (headers only, the
/// payload is never touched or copied) and answered at once with a pure ACK of what has arrived in order. It answers
/// ARP for its address, completes the handshake with window scaling (a 65535 &lt;&lt; 7 window, never shrinking: nothing
/// is buffered), acknowledges a FIN with its own FIN and logs each connection's total as examples/network does.
/// Checksums of what arrives are not verified (the TAP's host side hands over local segments unchecksummed anyway).
/// </summary>
internal sealed class AckResponder(TapDevice device, MacAddress mac, Ipv4Address address, ushort port)
{
    private const int EthernetLength = 14;
    private const int Ipv4Length = 20;
    private const int TcpLength = 20;
    private const byte Fin = 0x01;
    private const byte Syn = 0x02;
    private const byte Rst = 0x04;
    private const byte Ack = 0x10;
    private const byte WindowShift = 7;

    /// <summary>One client: where its stream stands and what it has sent so far.</summary>
    private sealed class Connection
    {
        public uint Iss;
        public uint ReceiveNext;
        public uint SendNext;
        public long Bytes;
        public long Started;
        public bool FinSent;
    }

    private readonly Dictionary<(uint Address, ushort Port), Connection> _connections = [];
    private uint _nextIss = 0x1000_0000;

    public void Run()
    {
        var handler = new Handler(this);
        while (true)
        {
            if (device.WaitForFrame(TimeSpan.FromSeconds(1)))
            {
                while (device.TryReceive(ref handler))
                {
                }
            }
        }
    }

    private readonly struct Handler(AckResponder owner) : IFrameHandler
    {
        public void Handle(Span<byte> frame) => owner.OnFrame(frame);
    }

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < EthernetLength)
        {
            return;
        }
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        if (type == 0x0806)
        {
            OnArp(frame);
        }
        else if (type == 0x0800)
        {
            OnIpv4(frame);
        }
    }

    private void OnArp(ReadOnlySpan<byte> frame)
    {
        var arp = frame[EthernetLength..];
        // Ethernet/IPv4 request (op 1) for our address.
        if (arp.Length < 28 || BinaryPrimitives.ReadUInt16BigEndian(arp[6..]) != 1 || Ipv4Address.Read(arp[24..]) != address)
        {
            return;
        }
        var reply = new ArpReply(frame, mac, address);
        device.TryTransmit(EthernetLength + 28, ref reply);
    }

    private void OnIpv4(ReadOnlySpan<byte> frame)
    {
        var ip = frame[EthernetLength..];
        if (ip.Length < Ipv4Length || ip[0] >> 4 != 4 || ip[9] != 6 || Ipv4Address.Read(ip[16..]) != address)
        {
            return;
        }
        int ipLength = (ip[0] & 0x0F) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (ipLength < Ipv4Length || total > ip.Length || total < ipLength + TcpLength)
        {
            return;
        }
        var tcp = ip[ipLength..total];
        if (BinaryPrimitives.ReadUInt16BigEndian(tcp[2..]) != port)
        {
            return;
        }
        int tcpLength = (tcp[12] >> 4) * 4;
        if (tcpLength < TcpLength || tcpLength > tcp.Length)
        {
            return;
        }
        var key = (Ipv4Address.Read(ip[12..]).Value, BinaryPrimitives.ReadUInt16BigEndian(tcp));
        byte flags = tcp[13];
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
        int payload = tcp.Length - tcpLength;
        _connections.TryGetValue(key, out var connection);

        if ((flags & Rst) != 0)
        {
            _connections.Remove(key);
            return;
        }
        if ((flags & Syn) != 0)
        {
            if (connection is null || connection.ReceiveNext != seq + 1)
            {
                // A new connection (or a new one on a reused port): its handshake starts over.
                connection = new Connection { Iss = _nextIss, ReceiveNext = seq + 1, SendNext = _nextIss + 1, Started = Stopwatch.GetTimestamp() };
                _nextIss += 0x0100_0000;
                _connections[key] = connection;
            }
            Send(frame, ipLength, connection.Iss, connection.ReceiveNext, Syn | Ack, synOptions: true);
            return;
        }
        if (connection is null)
        {
            return;
        }
        if (connection.FinSent && (flags & Ack) != 0 && BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]) == connection.SendNext && payload == 0 && (flags & Fin) == 0)
        {
            // The last ACK, of our FIN: the connection is over.
            _connections.Remove(key);
            return;
        }
        if (seq == connection.ReceiveNext)
        {
            connection.ReceiveNext += (uint)payload;
            connection.Bytes += payload;
            if ((flags & Fin) != 0 && !connection.FinSent)
            {
                connection.ReceiveNext++;
                connection.FinSent = true;
                Send(frame, ipLength, connection.SendNext, connection.ReceiveNext, Fin | Ack, synOptions: false);
                connection.SendNext++;
                double ms = Stopwatch.GetElapsedTime(connection.Started).TotalMilliseconds;
                Console.WriteLine($"ack-responder: {new Ipv4Address(key.Item1)}:{key.Item2}: read {connection.Bytes} bytes in {ms:0.###} ms ({(ms > 0 ? connection.Bytes / ms / 1000 : 0):0.0} MB/s)");
                return;
            }
        }
        if (payload > 0 || (flags & Fin) != 0)
        {
            // In order: acknowledges it; out of order or a repeat: a duplicate ACK of what is still missing.
            Send(frame, ipLength, connection.SendNext, connection.ReceiveNext, Ack, synOptions: false);
        }
    }

    private void Send(ReadOnlySpan<byte> received, int ipLength, uint seq, uint ack, int flags, bool synOptions)
    {
        var segment = new Segment(received, ipLength, mac, seq, ack, (byte)flags, synOptions);
        device.TryTransmit(EthernetLength + Ipv4Length + segment.HeaderLength, ref segment);
    }

    /// <summary>The answer to an ARP request, built from it.</summary>
    private readonly ref struct ArpReply(ReadOnlySpan<byte> request, MacAddress mac, Ipv4Address address) : IFrameBuilder
    {
        private readonly ReadOnlySpan<byte> _request = request;

        public void Build(Span<byte> frame)
        {
            _request[6..12].CopyTo(frame);
            mac.Write(frame[6..]);
            BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x0806);
            var arp = frame[EthernetLength..];
            _request[EthernetLength..(EthernetLength + 6)].CopyTo(arp);
            BinaryPrimitives.WriteUInt16BigEndian(arp[6..], 2);
            mac.Write(arp[8..]);
            address.Write(arp[14..]);
            _request[(EthernetLength + 8)..(EthernetLength + 18)].CopyTo(arp[18..]);
        }
    }

    /// <summary>A TCP segment without payload back to the sender of <c>received</c>, addresses and ports swapped.</summary>
    private readonly ref struct Segment(ReadOnlySpan<byte> received, int ipLength, MacAddress mac, uint seq, uint ack, byte flags, bool synOptions) : IFrameBuilder
    {
        private readonly ReadOnlySpan<byte> _received = received;

        /// <summary>20 bytes, or 28 on a SYN-ACK: MSS 1460, a NOP and window scale.</summary>
        public int HeaderLength => synOptions ? TcpLength + 8 : TcpLength;

        public void Build(Span<byte> frame)
        {
            var inIp = _received[EthernetLength..];
            var inTcp = inIp[ipLength..];
            _received[6..12].CopyTo(frame);
            mac.Write(frame[6..]);
            BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x0800);

            var ip = frame.Slice(EthernetLength, Ipv4Length);
            ip.Clear();
            ip[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(Ipv4Length + HeaderLength));
            BinaryPrimitives.WriteUInt16BigEndian(ip[6..], 0x4000);
            ip[8] = 64;
            ip[9] = 6;
            inIp[16..20].CopyTo(ip[12..]);
            inIp[12..16].CopyTo(ip[16..]);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip, 0));

            var tcp = frame.Slice(EthernetLength + Ipv4Length, HeaderLength);
            tcp.Clear();
            inTcp[2..4].CopyTo(tcp);
            inTcp[0..2].CopyTo(tcp[2..]);
            BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
            BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], ack);
            tcp[12] = (byte)((HeaderLength / 4) << 4);
            tcp[13] = flags;
            BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 0xFFFF);
            if (synOptions)
            {
                tcp[20] = 2;
                tcp[21] = 4;
                BinaryPrimitives.WriteUInt16BigEndian(tcp[22..], 1460);
                tcp[24] = 1;
                tcp[25] = 3;
                tcp[26] = 3;
                tcp[27] = WindowShift;
            }
            // Pseudo-header: the two addresses, the protocol and the TCP length.
            uint pseudo = Sum(ip.Slice(12, 8)) + 6u + (uint)HeaderLength;
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Checksum(tcp, pseudo));
        }
    }

    private static uint Sum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        return sum;
    }

    private static ushort Checksum(ReadOnlySpan<byte> data, uint initial)
    {
        uint sum = initial + Sum(data);
        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;
    }
}
