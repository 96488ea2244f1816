using System.Buffers.Binary;
using Unisharp.Devices;

namespace Unisharp.Targets.MicroVm.Network;

/// <summary>
/// Finishes a transport checksum the sender left partial (Linux's CHECKSUM_PARTIAL, virtio's NEEDS_CSUM): the
/// checksum field already holds the folded sum of the pseudo-header, so the Internet checksum (RFC 1071) of the
/// bytes from the transport header to the end of the IP packet, field included, is the value to store.
/// </summary>
internal static class PartialChecksum
{
    private const int EthernetHeaderLength = 14;
    private const ushort EtherTypeIpv4 = 0x0800;
    private const byte ProtocolUdp = 17;

    /// <summary>
    /// Completes the checksum of <paramref name="frame"/> in place as <paramref name="offload"/> describes; false when
    /// its offsets do not fit the frame (the frame is then left as it was).
    /// </summary>
    public static bool Complete(Span<byte> frame, in FrameOffload offload)
    {
        int start = offload.ChecksumStart;
        int field = start + offload.ChecksumOffset;
        int end = frame.Length;
        bool udp = false;
        if (frame.Length >= EthernetHeaderLength + 20 && BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) == EtherTypeIpv4)
        {
            // The IP packet may be followed by Ethernet padding, which the checksum does not cover.
            end = Math.Min(end, EthernetHeaderLength + BinaryPrimitives.ReadUInt16BigEndian(frame[(EthernetHeaderLength + 2)..]));
            udp = frame[EthernetHeaderLength + 9] == ProtocolUdp;
        }
        if (start < EthernetHeaderLength || field + 2 > end)
        {
            return false;
        }
        ushort checksum = (ushort)~Sum(frame[start..end]);
        // RFC 768: a computed UDP checksum of zero is sent as all ones (zero means "no checksum").
        if (udp && checksum == 0)
        {
            checksum = 0xFFFF;
        }
        BinaryPrimitives.WriteUInt16BigEndian(frame[field..], checksum);
        return true;
    }

    /// <summary>The folded one's-complement sum of <paramref name="data"/> as 16-bit big-endian words.</summary>
    internal static ushort Sum(ReadOnlySpan<byte> data)
    {
        ulong sum = 0;
        int i = 0;
        for (; i + 4 <= data.Length; i += 4)
        {
            sum += BinaryPrimitives.ReadUInt32BigEndian(data[i..]);
        }
        for (; i + 2 <= data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if (i < data.Length)
        {
            sum += (ulong)data[i] << 8;
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)sum;
    }
}
