namespace Unisharp.Net.Tcp;

/// <summary>What identifies a connection on one interface: our port and the remote endpoint.</summary>
internal readonly record struct TcpConnectionKey(ushort LocalPort, Ipv4Address RemoteAddress, ushort RemotePort);
