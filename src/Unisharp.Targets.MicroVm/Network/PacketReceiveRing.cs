using System.Runtime.InteropServices;
using Unisharp.Devices;
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

    /// <summary>Lends the next frame to <paramref name="handler"/>; false when the kernel has handed over none.</summary>
    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        return _v3 ? TryReceiveV3(ref handler) : TryReceiveV2(ref handler);
    }

    private bool TryReceiveV2<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        byte* slot = CurrentSlot;
        if (!IsOurs(slot + Frame2StatusOffset))
        {
            return false;
        }
        int length = (int)*(uint*)(slot + Frame2SnapLengthOffset);
        byte* data = slot + *(ushort*)(slot + Frame2MacOffset);
        try
        {
            handler.Handle(new Span<byte>(data, length));
        }
        finally
        {
            Volatile.Write(ref *(uint*)(slot + Frame2StatusOffset), TP_STATUS_KERNEL);
            _block = (_block + 1) % _frameCount;
        }
        return true;
    }

    private bool TryReceiveV3<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        byte* block = CurrentBlock;
        if (_framesLeft == 0)
        {
            if (!IsOurs(block + BlockStatusOffset))
            {
                return false;
            }
            _framesLeft = (int)*(uint*)(block + BlockPacketCountOffset);
            _frame = block + *(uint*)(block + BlockFirstPacketOffset);
            if (_framesLeft == 0)
            {
                Release(block);
                return false;
            }
        }
        byte* frame = _frame;
        int length = (int)*(uint*)(frame + FrameSnapLengthOffset);
        byte* data = frame + *(ushort*)(frame + FrameMacOffset);
        _framesLeft--;
        _frame = frame + *(uint*)(frame + FrameNextOffset);
        try
        {
            handler.Handle(new Span<byte>(data, length));
        }
        finally
        {
            // The frame lives in the block: the block goes back only once its last frame has been handled.
            if (_framesLeft == 0)
            {
                Release(block);
            }
        }
        return true;
    }

    private static bool IsOurs(byte* status) =>
        // Acquire: the frames the kernel wrote are visible once we see the status it set after them.
        (Volatile.Read(ref *(uint*)status) & TP_STATUS_USER) != 0;

    private void Release(byte* block)
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
