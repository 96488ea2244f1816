namespace Unisharp.Net.Wire;

/// <summary>The fields of an untagged Ethernet II header: what the stack emits.</summary>
internal readonly record struct EthernetRepr(MacAddress Destination, MacAddress Source, EtherType EtherType)
{
    public const int BufferLength = EthernetFrame.HeaderLength;

    /// <summary>Reads the header; the VLAN tag, if any, is skipped (the payload starts at <see cref="EthernetFrame.PayloadOffset"/>).</summary>
    public static WireError TryParse(Span<byte> buffer, out EthernetRepr repr)
    {
        repr = default;
        var error = EthernetFrame.TryCreate(buffer, out var frame);
        if (error != WireError.None)
        {
            return error;
        }
        repr = new EthernetRepr(frame.Destination, frame.Source, frame.EtherType);
        return WireError.None;
    }

    /// <summary>Writes the 14-byte header at the start of <paramref name="buffer"/>.</summary>
    public void Emit(Span<byte> buffer)
    {
        var frame = new EthernetFrame(buffer) { Destination = Destination, Source = Source };
        frame.SetEtherType(EtherType);
    }
}
