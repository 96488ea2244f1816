namespace Unisharp.Net.Wire;

/// <summary>ICMPv4 message types this stack sends or answers (RFC 792).</summary>
internal enum Icmpv4Type : byte
{
    EchoReply = 0,
    DestinationUnreachable = 3,
    EchoRequest = 8,
    TimeExceeded = 11,
}
