using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>A zero-copy view of a DHCP message: the BOOTP header, the magic cookie and the options (RFC 2131 §2).</summary>
/// <remarks>
/// <code>
///  0       1       2       3       4                               8
/// +-------+-------+-------+-------+-------------------------------+
/// |  op   | htype | hlen  | hops  |              xid              |
/// |     secs      |     flags     |  ciaddr  |  yiaddr  | siaddr  | giaddr (12..28)
/// | chaddr (16) 28..44 | sname (64) 44..108 | file (128) 108..236  |
/// | magic cookie 99.130.83.99 (236..240) | options: code, len, value ... 255 (end)
/// +---------------------------------------------------------------+
/// </code>
/// </remarks>
internal readonly ref struct DhcpPacket
{
    /// <summary>The fixed part through the magic cookie.</summary>
    public const int FixedLength = 240;

    public const uint MagicCookie = 0x63825363;

    private static class Field
    {
        public const int Op = 0;
        public const int HardwareType = 1;
        public const int HardwareLength = 2;
        public const int Hops = 3;
        public const int Xid = 4;
        public const int Secs = 8;
        public const int Flags = 10;
        public const int ClientAddress = 12;
        public const int YourAddress = 16;
        public const int ServerAddress = 20;
        public const int RelayAddress = 24;
        public const int ClientHardwareAddress = 28;
        public const int ServerName = 44;
        public const int BootFile = 108;
        public const int Cookie = 236;
        public const int Options = 240;
    }

    private const ushort BroadcastFlag = 0x8000;

    private readonly Span<byte> _buffer;

    public DhcpPacket(Span<byte> buffer) => _buffer = buffer;

    public static WireError TryCreate(Span<byte> buffer, out DhcpPacket packet)
    {
        packet = default;
        if (buffer.Length < FixedLength)
        {
            return WireError.Truncated;
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(buffer[Field.Cookie..]) != MagicCookie)
        {
            return WireError.Unsupported;
        }
        packet = new DhcpPacket(buffer);
        return WireError.None;
    }

    /// <summary>1 BOOTREQUEST, 2 BOOTREPLY.</summary>
    public byte Op => _buffer[Field.Op];
    public byte HardwareType => _buffer[Field.HardwareType];
    public byte HardwareLength => _buffer[Field.HardwareLength];
    public uint TransactionId => BinaryPrimitives.ReadUInt32BigEndian(_buffer[Field.Xid..]);
    public ushort Seconds => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Secs..]);
    public bool Broadcast => (BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.Flags..]) & BroadcastFlag) != 0;
    public Ipv4Address ClientAddress => Ipv4Address.Read(_buffer[Field.ClientAddress..]);
    public Ipv4Address YourAddress => Ipv4Address.Read(_buffer[Field.YourAddress..]);
    public Ipv4Address ServerAddress => Ipv4Address.Read(_buffer[Field.ServerAddress..]);
    public Ipv4Address RelayAddress => Ipv4Address.Read(_buffer[Field.RelayAddress..]);
    public MacAddress ClientHardwareAddress => MacAddress.Read(_buffer[Field.ClientHardwareAddress..]);
    public Span<byte> Options => _buffer[Field.Options..];

    /// <summary>Writes the fixed part (zeroing sname and file) and the magic cookie.</summary>
    public void SetFixed(byte op, uint xid, ushort secs, bool broadcast, Ipv4Address clientAddress, Ipv4Address yourAddress,
        Ipv4Address serverAddress, Ipv4Address relayAddress, MacAddress clientHardwareAddress)
    {
        _buffer[..FixedLength].Clear();
        _buffer[Field.Op] = op;
        _buffer[Field.HardwareType] = 1;
        _buffer[Field.HardwareLength] = MacAddress.Length;
        _buffer[Field.Hops] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[Field.Xid..], xid);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Secs..], secs);
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.Flags..], broadcast ? BroadcastFlag : (ushort)0);
        clientAddress.Write(_buffer[Field.ClientAddress..]);
        yourAddress.Write(_buffer[Field.YourAddress..]);
        serverAddress.Write(_buffer[Field.ServerAddress..]);
        relayAddress.Write(_buffer[Field.RelayAddress..]);
        clientHardwareAddress.Write(_buffer[Field.ClientHardwareAddress..]);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[Field.Cookie..], MagicCookie);
    }
}
