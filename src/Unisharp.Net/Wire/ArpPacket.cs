using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>A zero-copy view of an ARP packet for IPv4 over Ethernet (RFC 826).</summary>
/// <remarks>
/// <code>
///  0       2       4   5   6       8              14      18             24      28
/// +-------+-------+---+---+-------+--------------+-------+--------------+-------+
/// | htype | ptype |hln|pln|  op   | sender MAC   |sndr IP| target MAC   |tgt IP |
/// +-------+-------+---+---+-------+--------------+-------+--------------+-------+
/// htype 1 (Ethernet), ptype 0x0800 (IPv4), hln 6, pln 4.
/// </code>
/// </remarks>
internal readonly ref struct ArpPacket
{
    public const int Length = 28;

    private static class Field
    {
        public const int HardwareType = 0;
        public const int ProtocolType = 2;
        public const int HardwareLength = 4;
        public const int ProtocolLength = 5;
        public const int Operation = 6;
        public const int SenderMac = 8;
        public const int SenderIp = 14;
        public const int TargetMac = 18;
        public const int TargetIp = 24;
    }

    private readonly Span<byte> _buffer;

    public ArpPacket(Span<byte> buffer) => _buffer = buffer;

    public static WireError TryCreate(Span<byte> buffer, out ArpPacket packet)
    {
        packet = default;
        if (buffer.Length < Length)
        {
            return WireError.Truncated;
        }
        packet = new ArpPacket(buffer);
        return WireError.None;
    }

    public ushort HardwareType => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.HardwareType..]);
    public ushort ProtocolType => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.ProtocolType..]);
    public byte HardwareLength => _buffer[Field.HardwareLength];
    public byte ProtocolLength => _buffer[Field.ProtocolLength];
    public ArpOperation Operation => (ArpOperation)BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Operation..]);
    public MacAddress SenderMac => MacAddress.Read(_buffer[Field.SenderMac..]);
    public Ipv4Address SenderIp => Ipv4Address.Read(_buffer[Field.SenderIp..]);
    public MacAddress TargetMac => MacAddress.Read(_buffer[Field.TargetMac..]);
    public Ipv4Address TargetIp => Ipv4Address.Read(_buffer[Field.TargetIp..]);

    public void SetEthernetIpv4()
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.HardwareType..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.ProtocolType..], (ushort)EtherType.Ipv4);
        _buffer[Field.HardwareLength] = MacAddress.Length;
        _buffer[Field.ProtocolLength] = Ipv4Address.Length;
    }

    public void SetOperation(ArpOperation value) => BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Operation..], (ushort)value);
    public void SetSenderMac(MacAddress value) => value.Write(_buffer[Field.SenderMac..]);
    public void SetSenderIp(Ipv4Address value) => value.Write(_buffer[Field.SenderIp..]);
    public void SetTargetMac(MacAddress value) => value.Write(_buffer[Field.TargetMac..]);
    public void SetTargetIp(Ipv4Address value) => value.Write(_buffer[Field.TargetIp..]);
}
