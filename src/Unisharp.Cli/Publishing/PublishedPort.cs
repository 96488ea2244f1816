using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Unisharp.Cli.Publishing;

/// <summary>One <c>--publish [HOST_ADDR:]HOST_PORT:GUEST_PORT[/tcp|udp]</c>: a host port forwarded to a guest port.</summary>
internal readonly record struct PublishedPort(IPAddress HostAddress, int HostPort, int GuestPort, ProtocolType Protocol)
{
    public const string Syntax = "[HOST_ADDR:]HOST_PORT:GUEST_PORT[/tcp|udp]";

    public string ProtocolName => Protocol == ProtocolType.Udp ? "udp" : "tcp";

    /// <summary>Parses one option value; a mistake is a usage error naming the value.</summary>
    public static PublishedPort Parse(string value)
    {
        string rest = value;
        var protocol = ProtocolType.Tcp;
        int slash = value.LastIndexOf('/');
        if (slash >= 0)
        {
            protocol = value[(slash + 1)..] switch
            {
                "tcp" => ProtocolType.Tcp,
                "udp" => ProtocolType.Udp,
                _ => throw Invalid(value, "the protocol is tcp or udp"),
            };
            rest = value[..slash];
        }
        string[] parts = rest.Split(':');
        if (parts.Length is not (2 or 3))
        {
            throw Invalid(value, $"expected {Syntax}, e.g. 8080:80 or 127.0.0.1:5353:53/udp");
        }
        var address = IPAddress.Loopback;
        if (parts.Length == 3 && (!IPAddress.TryParse(parts[0], out address!) || address.AddressFamily != AddressFamily.InterNetwork || parts[0].Count(c => c == '.') != 3))
        {
            throw Invalid(value, $"'{parts[0]}' is not an IPv4 address");
        }
        return new PublishedPort(address, Port(value, parts[^2], "host"), Port(value, parts[^1], "guest"), protocol);
    }

    /// <summary>Parses every value and rejects the same host port given twice.</summary>
    public static List<PublishedPort> ParseAll(IEnumerable<string> values)
    {
        var ports = new List<PublishedPort>();
        foreach (string value in values)
        {
            var port = Parse(value);
            if (ports.Any(p => p.HostPort == port.HostPort && p.Protocol == port.Protocol
                && (p.HostAddress.Equals(port.HostAddress) || p.HostAddress.Equals(IPAddress.Any) || port.HostAddress.Equals(IPAddress.Any))))
            {
                throw new CliException($"invalid --publish '{value}': host port {port.HostPort}/{port.ProtocolName} is published twice", CliException.Usage);
            }
            ports.Add(port);
        }
        return ports;
    }

    public override string ToString() => $"{HostAddress}:{HostPort.ToString(CultureInfo.InvariantCulture)}:{GuestPort.ToString(CultureInfo.InvariantCulture)}/{ProtocolName}";

    private static int Port(string value, string text, string which) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 1 and <= 65535
            ? port
            : throw Invalid(value, $"the {which} port '{text}' is not a number from 1 to 65535");

    private static CliException Invalid(string value, string why) => new($"invalid --publish '{value}': {why}", CliException.Usage);
}
