namespace Unisharp.Net.Wire;

/// <summary>The ARP opcode (RFC 826 ar$op).</summary>
internal enum ArpOperation : ushort
{
    Request = 1,
    Reply = 2,
}
