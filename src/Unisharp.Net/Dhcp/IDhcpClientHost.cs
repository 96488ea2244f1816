using Unisharp.Net.Wire;

namespace Unisharp.Net.Dhcp;

/// <summary>What the DHCP client needs from the interface it configures.</summary>
internal interface IDhcpClientHost
{
    /// <summary>Sends <paramref name="message"/> from UDP port 68 to port 67 of <paramref name="destination"/> (broadcast or the server).</summary>
    void SendDhcp(in DhcpRepr message, Ipv4Address source, Ipv4Address destination);

    void OnLeaseAcquired(Ipv4Cidr address, Ipv4Address? gateway);

    void OnLeaseLost();
}
