using System.Buffers.Binary;
using Unisharp.Devices;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Tcp;

/// <summary>What the cable does with offload metadata.</summary>
internal enum CableOffload
{
    /// <summary>Plain frames both ways, MTU-sized.</summary>
    None,
    /// <summary>Both ends offload; large segments and partial checksums pass as they are (two virtio guests on a bridge).</summary>
    PassThrough,
    /// <summary>
    /// End A offloads, end B does not: the cable cuts A's large segments and completes their checksums as Linux does,
    /// and hands B's frames to A plain.
    /// </summary>
    Segment,
}

/// <summary>
/// One end of an in-memory cable that allocates nothing per frame (a ring of preallocated frame buffers), for the
/// allocation tests. Single-threaded: both ends are polled by the test.
/// </summary>
internal sealed class CableDevice : INetworkDevice
{
    private readonly int _slots;
    private readonly int _slotLength;
    private readonly byte[][] _frames;
    private readonly int[] _lengths;
    private readonly FrameOffload[] _offloads;
    private readonly CableOffload _mode;
    private readonly byte[] _scratch;
    private int _head;
    private int _count;
    private CableDevice? _peer;

    private CableDevice(string name, MacAddress mac, CableOffload mode, bool offloads)
    {
        Name = name;
        MacAddress = mac;
        _mode = mode;
        Capabilities = new NetworkDeviceCapabilities(1500, ChecksumOffload: offloads, SegmentationOffload: offloads);
        // Only a pass-through cable carries frames over the MTU; a few slots that large keep the tests' memory small.
        _slots = mode == CableOffload.PassThrough ? 64 : 4096;
        _slotLength = mode == CableOffload.PassThrough ? Capabilities.MaxFrameLength : 1514;
        _frames = new byte[_slots][];
        _lengths = new int[_slots];
        _offloads = new FrameOffload[_slots];
        _scratch = new byte[mode == CableOffload.Segment && offloads ? Capabilities.MaxFrameLength : 0];
        for (int i = 0; i < _slots; i++)
        {
            _frames[i] = new byte[_slotLength];
        }
    }

    public static (CableDevice A, CableDevice B) CreatePair(MacAddress a, MacAddress b, CableOffload mode = CableOffload.None)
    {
        var left = new CableDevice("cable-a", a, mode, mode != CableOffload.None);
        var right = new CableDevice("cable-b", b, mode, mode == CableOffload.PassThrough);
        left._peer = right;
        right._peer = left;
        return (left, right);
    }

    public string Name { get; }
    public MacAddress MacAddress { get; }
    public NetworkDeviceCapabilities Capabilities { get; }

    public int Pending => _count;

    /// <summary>Frames transmitted here that were over the MTU (large segments for the cable to cut or pass).</summary>
    public long LargeFramesSent { get; private set; }

    /// <summary>Frames transmitted here with a partial checksum.</summary>
    public long PartialChecksumsSent { get; private set; }

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        if (_count == 0)
        {
            return false;
        }
        var frame = _frames[_head].AsSpan(0, _lengths[_head]);
        var offload = _offloads[_head];
        if (offload.IsNone)
        {
            handler.Handle(frame);
        }
        else
        {
            handler.Handle(frame, offload);
        }
        _head = (_head + 1) % _slots;
        _count--;
        return true;
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct =>
        TryTransmit(length, default(FrameOffload), ref builder);

    public bool TryTransmit<TBuilder>(int length, in FrameOffload offload, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        var peer = _peer!;
        if (length > Capabilities.MaxFrameLength || (length > peer._slotLength && offload.IsNone) || (!offload.IsNone && !Capabilities.ChecksumOffload))
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }
        if (peer._count == _slots)
        {
            return false;
        }
        if (length > 1514)
        {
            LargeFramesSent++;
        }
        if (offload.Checksum == FrameChecksum.Partial)
        {
            PartialChecksumsSent++;
        }
        if (offload.IsNone || _mode == CableOffload.PassThrough)
        {
            int slot = peer.NextSlot();
            builder.Build(peer._frames[slot].AsSpan(0, length));
            peer.Commit(slot, length, offload);
            return true;
        }
        // Linux's part: cut the segment (if it is large) and complete each checksum.
        builder.Build(_scratch.AsSpan(0, length));
        return peer.TakeSegmented(_scratch.AsSpan(0, length), offload);
    }

    private int NextSlot() => (_head + _count) % _slots;

    private void Commit(int slot, int length, in FrameOffload offload)
    {
        _lengths[slot] = length;
        _offloads[slot] = offload;
        _count++;
    }

    private bool TakeSegmented(ReadOnlySpan<byte> frame, in FrameOffload offload)
    {
        int ipStart = EthernetFrame.HeaderLength;
        int tcpStart = offload.ChecksumStart;
        int tcpHeader = (frame[tcpStart + 12] >> 4) * 4;
        int headers = tcpStart + tcpHeader;
        int payload = frame.Length - headers;
        int size = offload.SegmentSize > 0 ? offload.SegmentSize : Math.Max(payload, 1);
        int pieces = Math.Max(1, (payload + size - 1) / size);
        if (_count + pieces > _slots)
        {
            return false;
        }
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(frame[(tcpStart + 4)..]);
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(frame[(ipStart + 4)..]);
        byte flags = frame[tcpStart + 13];
        for (int i = 0; i < pieces; i++)
        {
            int offset = i * size;
            int n = Math.Min(size, payload - offset);
            int slot = NextSlot();
            var piece = _frames[slot].AsSpan(0, headers + n);
            frame[..headers].CopyTo(piece);
            frame.Slice(headers + offset, n).CopyTo(piece[headers..]);
            var ip = piece[ipStart..];
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(piece.Length - ipStart));
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(id + i));
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], InternetChecksum.Compute(ip[..20]));
            var tcp = piece[tcpStart..];
            BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq + (uint)offset);
            // FIN and PSH belong to the last piece only (Linux's tcp_gso_segment).
            tcp[13] = i == pieces - 1 ? flags : (byte)(flags & ~0x09);
            var source = new Ipv4Address(BinaryPrimitives.ReadUInt32BigEndian(ip[12..]));
            var destination = new Ipv4Address(BinaryPrimitives.ReadUInt32BigEndian(ip[16..]));
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], 0);
            ushort checksum = InternetChecksum.Finish(InternetChecksum.PseudoHeaderSum(source, destination, IpProtocol.Tcp, tcp.Length) + InternetChecksum.Sum(tcp));
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], checksum);
            Commit(slot, piece.Length, default);
        }
        return true;
    }

    public bool WaitForFrame(TimeSpan timeout) => _count > 0;

    public void Wake()
    {
    }

    public void Dispose()
    {
    }
}
