using System.Runtime.InteropServices;
using Unisharp.Devices;
using Unisharp.Targets.MicroVm.Interop;
using static Unisharp.Targets.MicroVm.Interop.PacketMmap;

namespace Unisharp.Targets.MicroVm.Network;

/// <summary>
/// A TPACKET_V3 receive ring on an AF_PACKET socket: the kernel writes frames into blocks of memory shared
/// with us and hands a block over (status TP_STATUS_USER) when it is full or its retire timer fires; we walk
/// the block's frames, lending each to the stack in place, then give the block back (TP_STATUS_KERNEL).
/// No system call per frame, no copy.
/// </summary>
/// <remarks>
/// The kernel only hands over a block that is not full when its timer fires, so a lone frame waits up to
/// <see cref="RetireTimeoutMs"/> rounded up to the kernel's tick (4 ms at HZ=250): latency for batching.
/// </remarks>
internal sealed unsafe class PacketReceiveRing : IDisposable
{
    /// <summary>The block retire timeout asked of the kernel, in milliseconds (the smallest it takes).</summary>
    public const uint RetireTimeoutMs = 1;

    private readonly byte* _ring;
    private readonly nuint _ringLength;
    private readonly int _blockSize;
    private readonly int _blockCount;
    private int _block;
    private byte* _frame;
    private int _framesLeft;

    private PacketReceiveRing(byte* ring, nuint ringLength, int blockSize, int blockCount)
    {
        _ring = ring;
        _ringLength = ringLength;
        _blockSize = blockSize;
        _blockCount = blockCount;
    }

    public int BlockSize => _blockSize;

    public int BlockCount => _blockCount;

    /// <summary>
    /// Switches <paramref name="fd"/> to TPACKET_V3 and maps a receive ring of <paramref name="blockCount"/>
    /// blocks of <paramref name="blockSize"/> bytes (a multiple of the page size), each frame at most
    /// <paramref name="frameSize"/> bytes with its header.
    /// </summary>
    /// <exception cref="IOException">The kernel refused (no PACKET_MMAP, or not enough memory).</exception>
    public static PacketReceiveRing Create(int fd, int blockSize, int blockCount, int frameSize)
    {
        int version = TPACKET_V3;
        if (Libc.SetSockOpt(fd, Libc.SOL_PACKET, PACKET_VERSION, &version, sizeof(int)) < 0)
        {
            throw Libc.LastError("setsockopt(PACKET_VERSION, TPACKET_V3)");
        }
        var request = new Request3
        {
            BlockSize = (uint)blockSize,
            BlockCount = (uint)blockCount,
            FrameSize = (uint)frameSize,
            FrameCount = (uint)(blockSize / frameSize * blockCount),
            RetireBlockTimeoutMs = RetireTimeoutMs,
        };
        if (Libc.SetSockOpt(fd, Libc.SOL_PACKET, PACKET_RX_RING, &request, (uint)sizeof(Request3)) < 0)
        {
            throw Libc.LastError("setsockopt(PACKET_RX_RING)");
        }
        nuint length = (nuint)blockSize * (nuint)blockCount;
        byte* ring = (byte*)Libc.MMap(null, length, Libc.PROT_READ | Libc.PROT_WRITE, MAP_SHARED, fd, 0);
        if (ring == (byte*)-1)
        {
            throw Libc.LastError("mmap of the PACKET_RX_RING");
        }
        return new PacketReceiveRing(ring, length, blockSize, blockCount);
    }

    /// <summary>True when a frame is ready to be read without waiting.</summary>
    public bool HasFrame => _framesLeft > 0 || IsOurs(CurrentBlock);

    private byte* CurrentBlock => _ring + ((nuint)_block * (nuint)_blockSize);

    /// <summary>Lends the next frame to <paramref name="handler"/>; false when the kernel has handed over none.</summary>
    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        byte* block = CurrentBlock;
        if (_framesLeft == 0)
        {
            if (!IsOurs(block))
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

    private static bool IsOurs(byte* block) =>
        // Acquire: the frames the kernel wrote are visible once we see the status it set after them.
        (Volatile.Read(ref *(uint*)(block + BlockStatusOffset)) & TP_STATUS_USER) != 0;

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
