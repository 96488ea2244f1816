namespace Unisharp.Net.Wire;

/// <summary>The control bits of a TCP header (RFC 9293 §3.1; ECE and CWR from RFC 3168).</summary>
[Flags]
internal enum TcpFlags : byte
{
    None = 0,
    Fin = 0x01,
    Syn = 0x02,
    Rst = 0x04,
    Psh = 0x08,
    Ack = 0x10,
    Urg = 0x20,
    Ece = 0x40,
    Cwr = 0x80,
}
