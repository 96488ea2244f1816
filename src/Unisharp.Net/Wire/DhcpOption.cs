namespace Unisharp.Net.Wire;

/// <summary>DHCP option codes the client sends or reads (RFC 2132).</summary>
internal static class DhcpOption
{
    public const byte Pad = 0;
    public const byte SubnetMask = 1;
    public const byte Router = 3;
    public const byte DomainNameServer = 6;
    public const byte RequestedAddress = 50;
    public const byte LeaseTime = 51;
    public const byte MessageType = 53;
    public const byte ServerIdentifier = 54;
    public const byte ParameterRequestList = 55;
    public const byte MaxMessageSize = 57;
    public const byte RenewalTime = 58;
    public const byte RebindingTime = 59;
    public const byte ClientIdentifier = 61;
    public const byte End = 255;
}
