using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>
/// A zero-copy view of an Ethernet II frame, with at most one 802.1Q tag read on receive.
/// </summary>
/// <remarks>
/// <code>
///  0                   6                   12      14
/// +-------------------+-------------------+-------+------------------
/// |  destination MAC  |    source MAC     | type  | payload ...
/// +-------------------+-------------------+-------+------------------
/// With an 802.1Q tag, type is 0x8100, followed by the TCI (PCP:3 DEI:1 VID:12) and the inner type.
/// </code>
/// The frame check sequence is not in the buffer: devices strip it.
/// </remarks>
internal readonly ref struct EthernetFrame
{
    public const int HeaderLength = 14;
    public const int VlanTagLength = 4;

    private static class Field
    {
        public const int Destination = 0;
        public const int Source = 6;
        public const int EtherType = 12;
        public const int VlanTci = 14;
        public const int InnerEtherType = 16;
    }

    private readonly Span<byte> _buffer;

    /// <summary>An unchecked view for emitting into a buffer of at least <see cref="HeaderLength"/> bytes.</summary>
    public EthernetFrame(Span<byte> buffer) => _buffer = buffer;

    /// <summary>Checks that the header (and its VLAN tag, if any) fits; a second tag is <see cref="WireError.Unsupported"/>.</summary>
    public static WireError TryCreate(Span<byte> buffer, out EthernetFrame frame)
    {
        frame = default;
        if (buffer.Length < HeaderLength)
        {
            return WireError.Truncated;
        }
        if (BinaryPrimitives.ReadUInt16BigEndian(buffer[Field.EtherType..]) == (ushort)EtherType.Vlan)
        {
            if (buffer.Length < HeaderLength + VlanTagLength)
            {
                return WireError.Truncated;
            }
            // One tag only: stacked tags (802.1ad QinQ) would leave a TPID where the payload's EtherType belongs.
            if (BinaryPrimitives.ReadUInt16BigEndian(buffer[Field.InnerEtherType..]) == (ushort)EtherType.Vlan)
            {
                return WireError.Unsupported;
            }
        }
        frame = new EthernetFrame(buffer);
        return WireError.None;
    }

    public MacAddress Destination
    {
        get => MacAddress.Read(_buffer[Field.Destination..]);
        init => value.Write(_buffer[Field.Destination..]);
    }

    public MacAddress Source
    {
        get => MacAddress.Read(_buffer[Field.Source..]);
        init => value.Write(_buffer[Field.Source..]);
    }

    public bool HasVlanTag => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.EtherType..]) == (ushort)EtherType.Vlan;

    /// <summary>The 12-bit VLAN identifier of the 802.1Q tag, or -1 when the frame is untagged.</summary>
    public int VlanId => HasVlanTag ? BinaryPrimitives.ReadUInt16BigEndian(_buffer[Field.VlanTci..]) & 0x0FFF : -1;

    /// <summary>The EtherType of the payload (the inner one of a tagged frame).</summary>
    public EtherType EtherType =>
        (EtherType)BinaryPrimitives.ReadUInt16BigEndian(_buffer[(HasVlanTag ? Field.InnerEtherType : Field.EtherType)..]);

    public void SetEtherType(EtherType value) => BinaryPrimitives.WriteUInt16BigEndian(_buffer[Field.EtherType..], (ushort)value);

    public int PayloadOffset => HasVlanTag ? HeaderLength + VlanTagLength : HeaderLength;

    public Span<byte> Payload => _buffer[PayloadOffset..];
}
