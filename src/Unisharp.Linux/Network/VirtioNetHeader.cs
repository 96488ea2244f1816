using System.Buffers.Binary;
using Unisharp.Devices;

namespace Unisharp.Linux.Network;

/// <summary>
/// The <c>virtio_net_hdr</c> Linux puts before every frame of a TAP device with IFF_VNET_HDR or of a packet socket
/// with PACKET_VNET_HDR (virtio 1.2 §5.1.6, legacy layout, little-endian on the hosts we run on), turned into and
/// out of <see cref="FrameOffload"/>. Shared by the unix target's TAP device and the microVM guest's packet socket.
/// </summary>
/// <remarks>
/// <code>
///  0       1       2               4               6               8              10
/// +-------+-------+---------------+---------------+---------------+---------------+
/// | flags |gsotype|    hdr_len    |   gso_size    |  csum_start   |  csum_offset  |
/// +-------+-------+---------------+---------------+---------------+---------------+
/// </code>
/// </remarks>
public static class VirtioNetHeader
{
    public const int Length = 10;

    /// <summary>TUNSETIFF flag: frames on the TAP file descriptor carry the header.</summary>
    public const short IFF_VNET_HDR = 0x4000;
    /// <summary>_IOW('T', 208, unsigned int): the offloads the reader of the TAP takes.</summary>
    public const nuint TUNSETOFFLOAD = 0x400454D0;
    /// <summary>_IOW('T', 216, int): the header's length.</summary>
    public const nuint TUNSETVNETHDRSZ = 0x400454D8;
    public const uint TUN_F_CSUM = 0x01;
    public const uint TUN_F_TSO4 = 0x02;

    private const byte FlagNeedsChecksum = 1;
    private const byte FlagDataValid = 2;
    private const byte GsoNone = 0;
    private const byte GsoTcpV4 = 1;
    private const byte GsoEcn = 0x80;

    private static class Field
    {
        public const int Flags = 0;
        public const int GsoType = 1;
        public const int HeaderLength = 2;
        public const int GsoSize = 4;
        public const int ChecksumStart = 6;
        public const int ChecksumOffset = 8;
    }

    /// <summary>The metadata of a received frame.</summary>
    public static FrameOffload Read(ReadOnlySpan<byte> header)
    {
        byte flags = header[Field.Flags];
        byte gso = (byte)(header[Field.GsoType] & ~GsoEcn);
        var checksum = (flags & FlagNeedsChecksum) != 0 ? FrameChecksum.Partial
            : (flags & FlagDataValid) != 0 ? FrameChecksum.Valid
            : FrameChecksum.None;
        return new FrameOffload
        {
            Checksum = checksum,
            ChecksumStart = checksum == FrameChecksum.Partial ? BinaryPrimitives.ReadUInt16LittleEndian(header[Field.ChecksumStart..]) : (ushort)0,
            ChecksumOffset = checksum == FrameChecksum.Partial ? BinaryPrimitives.ReadUInt16LittleEndian(header[Field.ChecksumOffset..]) : (ushort)0,
            SegmentSize = gso != GsoNone ? BinaryPrimitives.ReadUInt16LittleEndian(header[Field.GsoSize..]) : (ushort)0,
        };
    }

    /// <summary>Writes the header for a frame to transmit; <paramref name="frame"/> is already built.</summary>
    public static void Write(Span<byte> header, in FrameOffload offload, ReadOnlySpan<byte> frame)
    {
        header[..Length].Clear();
        if (offload.Checksum == FrameChecksum.Partial)
        {
            header[Field.Flags] = FlagNeedsChecksum;
            BinaryPrimitives.WriteUInt16LittleEndian(header[Field.ChecksumStart..], offload.ChecksumStart);
            BinaryPrimitives.WriteUInt16LittleEndian(header[Field.ChecksumOffset..], offload.ChecksumOffset);
            int headers = offload.ChecksumStart + offload.ChecksumOffset + 2;
            if (offload.SegmentSize > 0 && offload.ChecksumStart + 13 <= frame.Length)
            {
                // The kernel wants the length of all headers of a segment to cut: through TCP's data offset.
                headers = offload.ChecksumStart + (frame[offload.ChecksumStart + 12] >> 4) * 4;
                header[Field.GsoType] = GsoTcpV4;
                BinaryPrimitives.WriteUInt16LittleEndian(header[Field.GsoSize..], offload.SegmentSize);
            }
            BinaryPrimitives.WriteUInt16LittleEndian(header[Field.HeaderLength..], (ushort)headers);
        }
    }
}
