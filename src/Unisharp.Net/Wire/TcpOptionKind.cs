namespace Unisharp.Net.Wire;

/// <summary>TCP option kinds (IANA "TCP Option Kind Numbers").</summary>
internal enum TcpOptionKind : byte
{
    EndOfList = 0,
    NoOperation = 1,
    MaxSegmentSize = 2,
    WindowScale = 3,
    SackPermitted = 4,
    Sack = 5,
    Timestamp = 8,
}
