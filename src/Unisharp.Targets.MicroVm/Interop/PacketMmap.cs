using System.Runtime.InteropServices;

namespace Unisharp.Targets.MicroVm.Interop;

/// <summary>
/// PACKET_MMAP of &lt;linux/if_packet.h&gt; (Documentation/networking/packet_mmap.rst): the socket options and the
/// TPACKET_V3 block and frame headers, as offsets into the shared ring.
/// </summary>
internal static unsafe partial class PacketMmap
{
    public const int PACKET_RX_RING = 5;
    /// <summary>Frames too large for a V2 slot are also queued to the socket whole (TP_STATUS_COPY), to read with recv.</summary>
    public const int PACKET_COPY_THRESH = 7;
    public const int PACKET_VERSION = 10;
    /// <summary>A <c>virtio_net_hdr</c> before every frame, in the ring and on send (checksum and segmentation offload).</summary>
    public const int PACKET_VNET_HDR = 15;
    public const int PACKET_QDISC_BYPASS = 20;
    public const int TPACKET_V2 = 1;
    public const int TPACKET_V3 = 2;

    public const uint TP_STATUS_KERNEL = 0;
    public const uint TP_STATUS_USER = 1;
    /// <summary>The slot holds the start of a frame too large for it; the whole frame waits in the socket's queue.</summary>
    public const uint TP_STATUS_COPY = 1 << 1;

    public const int SOL_SOCKET = 1;
    /// <summary>SO_RCVBUF past net.core.rmem_max (CAP_NET_ADMIN).</summary>
    public const int SO_RCVBUFFORCE = 33;

    public const int MAP_SHARED = 0x01;
    public const int MAP_LOCKED = 0x2000;

    // struct tpacket_block_desc: u32 version, u32 offset_to_priv, then struct tpacket_hdr_v1:
    // u32 block_status, u32 num_pkts, u32 offset_to_first_pkt, u32 blk_len, u64 seq_num, two timestamps.
    public const int BlockStatusOffset = 8;
    public const int BlockPacketCountOffset = 12;
    public const int BlockFirstPacketOffset = 16;

    // struct tpacket3_hdr: u32 tp_next_offset, tp_sec, tp_nsec, tp_snaplen, tp_len, tp_status; u16 tp_mac, tp_net; ...
    public const int FrameNextOffset = 0;
    public const int FrameLengthOffset = 16;
    public const int FrameSnapLengthOffset = 12;
    public const int FrameMacOffset = 24;

    // struct tpacket2_hdr: u32 tp_status, tp_len, tp_snaplen; u16 tp_mac, tp_net; u32 tp_sec, tp_nsec; ...
    public const int Frame2StatusOffset = 0;
    public const int Frame2LengthOffset = 4;
    public const int Frame2SnapLengthOffset = 8;
    public const int Frame2MacOffset = 12;

    /// <summary>struct tpacket_req3: the shape of a TPACKET_V3 ring.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Request3
    {
        public uint BlockSize;
        public uint BlockCount;
        public uint FrameSize;
        public uint FrameCount;
        /// <summary>Milliseconds after which the kernel hands over a block that is not full.</summary>
        public uint RetireBlockTimeoutMs;
        public uint PrivateSize;
        public uint FeatureRequestWord;
    }

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int MUnmap(void* address, nuint length);
}
