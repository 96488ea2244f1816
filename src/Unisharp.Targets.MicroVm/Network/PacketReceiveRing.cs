using System.Runtime.InteropServices;
using Unisharp.Targets.MicroVm.Interop;
using static Unisharp.Targets.MicroVm.Interop.PacketMmap;

namespace Unisharp.Targets.MicroVm.Network;

/// <summary>
/// A PACKET_MMAP receive ring on an AF_PACKET socket, memory shared with the kernel that frames are written
/// into and lent to the stack in place: no system call per frame, no copy.
/// </summary>
/// <remarks>
/// <para>
/// TPACKET_V3: the kernel fills blocks with frames of any size and hands a block over (TP_STATUS_USER) when it
/// is full or its retire timer fires; we walk its frames, then give it back (TP_STATUS_KERNEL). A block that is
/// not full is only handed over by the timer, so a lone frame waits up to <see cref="RetireTimeoutMs"/> rounded
/// up to the kernel's tick (4 ms at HZ=250): latency traded for fewer wake-ups.
/// </para>
/// <para>
/// TPACKET_V2: fixed slots, one frame each, handed over (and the reader woken) frame by frame.
/// </para>
/// </remarks>
internal sealed unsafe class PacketReceiveRing : IDisposable
{
    /// <summary>The block retire timeout asked of the kernel, in milliseconds (the smallest it takes).</summary>
    public const uint RetireTimeoutMs = 1;

    private readonly byte* _ring;
    private readonly nuint _ringLength;
    private readonly int _blockSize;
    private readonly int _blockCount;
    private readonly int _frameSize;
    private readonly int _framesPerBlock;
    private readonly int _frameCount;
    private readonly bool _v3;
    private int _block;
    private byte* _frame;
    private int _framesLeft;

    private PacketReceiveRing(byte* ring, nuint ringLength, int version, int blockSize, int blockCount, int frameSize)
    {
        _ring = ring;
        _ringLength = ringLength;
        _v3 = version == TPACKET_V3;
        _blockSize = blockSize;
        _blockCount = blockCount;
        _frameSize = frameSize;
        _framesPerBlock = blockSize / frameSize;
        _frameCount = _framesPerBlock * blockCount;
    }

    /// <summary>TPACKET_V2 or TPACKET_V3.</summary>
    public int Version => _v3 ? TPACKET_V3 : TPACKET_V2;

    public int BlockSize => _blockSize;

    public int BlockCount => _blockCount;

    /// <summary>
    /// Switches <paramref name="fd"/> to <paramref name="version"/> (TPACKET_V2 or TPACKET_V3) and maps a
    /// receive ring of <paramref name="blockCount"/> blocks of <paramref name="blockSize"/> bytes (a multiple of
    /// the page size), each frame at most <paramref name="frameSize"/> bytes with its header (V2's slot size).
    /// </summary>
    /// <exception cref="IOException">The kernel refused (no PACKET_MMAP, or not enough memory).</exception>
    public static PacketReceiveRing Create(int fd, int version, int blockSize, int blockCount, int frameSize)
    {
        if (version is not (TPACKET_V2 or TPACKET_V3))
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, "TPACKET_V2 or TPACKET_V3");
        }
        if (Libc.SetSockOpt(fd, Libc.SOL_PACKET, PACKET_VERSION, &version, sizeof(int)) < 0)
        {
            throw Libc.LastError($"setsockopt(PACKET_VERSION, TPACKET_V{version + 1})");
        }
        var request = new Request3
        {
            BlockSize = (uint)blockSize,
            BlockCount = (uint)blockCount,
            FrameSize = (uint)frameSize,
            FrameCount = (uint)(blockSize / frameSize * blockCount),
            RetireBlockTimeoutMs = version == TPACKET_V3 ? RetireTimeoutMs : 0,
        };
        // V2 takes struct tpacket_req: the first four fields of tpacket_req3.
        uint requestLength = version == TPACKET_V3 ? (uint)sizeof(Request3) : 4 * sizeof(uint);
        if (Libc.SetSockOpt(fd, Libc.SOL_PACKET, PACKET_RX_RING, &request, requestLength) < 0)
        {
            throw Libc.LastError("setsockopt(PACKET_RX_RING)");
        }
        nuint length = (nuint)blockSize * (nuint)blockCount;
        byte* ring = (byte*)Libc.MMap(null, length, Libc.PROT_READ | Libc.PROT_WRITE, MAP_SHARED, fd, 0);
        if (ring == (byte*)-1)
        {
            throw Libc.LastError("mmap of the PACKET_RX_RING");
        }
        return new PacketReceiveRing(ring, length, version, blockSize, blockCount, frameSize);
    }

    /// <summary>True when a frame is ready to be read without waiting.</summary>
    public bool HasFrame => _v3 ? _framesLeft > 0 || IsOurs(CurrentBlock + BlockStatusOffset) : IsOurs(CurrentSlot + Frame2StatusOffset);

    private byte* CurrentBlock => _ring + ((nuint)_block * (nuint)_blockSize);

    // V2: _block counts slots; a slot never straddles blocks.
    private byte* CurrentSlot => _ring + ((nuint)(_block / _framesPerBlock) * (nuint)_blockSize) + ((nuint)(_block % _framesPerBlock) * (nuint)_frameSize);

    /// <summary>
    /// Takes the next frame the kernel has handed over, in place in the ring: <paramref name="packet"/> is the frame with
    /// the <paramref name="headerLength"/> bytes the kernel put before it (PACKET_VNET_HDR's <c>virtio_net_hdr</c>), and
    /// <paramref name="wireLength"/> the frame's length before any cut to the slot; <paramref name="queued"/> says that
    /// the whole of a frame cut to its V2 slot waits in the socket's queue (PACKET_COPY_THRESH). The frame stays ours
    /// until <see cref="Release"/>. False when the kernel has handed over none.
    /// </summary>
    public bool TryTake(int headerLength, out Span<byte> packet, out int wireLength, out bool queued)
    {
        byte* data;
        int length;
        queued = false;
        if (!_v3)
        {
            byte* slot = CurrentSlot;
            if (!IsOurs(slot + Frame2StatusOffset))
            {
                packet = default;
                wireLength = 0;
                return false;
            }
            queued = (*(uint*)(slot + Frame2StatusOffset) & TP_STATUS_COPY) != 0;
            length = (int)*(uint*)(slot + Frame2SnapLengthOffset);
            wireLength = (int)*(uint*)(slot + Frame2LengthOffset);
            data = slot + *(ushort*)(slot + Frame2MacOffset);
        }
        else
        {
            byte* block = CurrentBlock;
            if (_framesLeft == 0)
            {
                if (!IsOurs(block + BlockStatusOffset))
                {
                    packet = default;
                    wireLength = 0;
                    return false;
                }
                _framesLeft = (int)*(uint*)(block + BlockPacketCountOffset);
                _frame = block + *(uint*)(block + BlockFirstPacketOffset);
                if (_framesLeft == 0)
                {
                    ReleaseBlock(block);
                    packet = default;
                    wireLength = 0;
                    return false;
                }
            }
            byte* frame = _frame;
            length = (int)*(uint*)(frame + FrameSnapLengthOffset);
            wireLength = (int)*(uint*)(frame + FrameLengthOffset);
            data = frame + *(ushort*)(frame + FrameMacOffset);
            _framesLeft--;
            _frame = frame + *(uint*)(frame + FrameNextOffset);
        }
        packet = new Span<byte>(data - headerLength, length + headerLength);
        return true;
    }

    /// <summary>Gives the frame taken last back to the kernel (with V3, its block once the block's last frame is done).</summary>
    public void Release()
    {
        if (!_v3)
        {
            Volatile.Write(ref *(uint*)(CurrentSlot + Frame2StatusOffset), TP_STATUS_KERNEL);
            _block = (_block + 1) % _frameCount;
        }
        else if (_framesLeft == 0)
        {
            // The frame lives in the block: the block goes back only once its last frame has been handled.
            ReleaseBlock(CurrentBlock);
        }
    }

    private static bool IsOurs(byte* status) =>
        // Acquire: the frames the kernel wrote are visible once we see the status it set after them.
        (Volatile.Read(ref *(uint*)status) & TP_STATUS_USER) != 0;

    private void ReleaseBlock(byte* block)
    {
        // Release: our reads of the block are done before the kernel may write it again.
        Volatile.Write(ref *(uint*)(block + BlockStatusOffset), TP_STATUS_KERNEL);
        _block = (_block + 1) % _blockCount;
    }

    public void Dispose()
    {
        PacketMmap.MUnmap(_ring, _ringLength);
    }
}
