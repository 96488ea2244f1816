using System.Globalization;
using Unisharp.Net;
using Unisharp.Targets.Unix.Network;

// ack-responder TAP ADDRESS/PREFIX PORT: bench net's physical limit (see README.md).
if (args.Length != 3 || !Ipv4Address.TryParse(args[1].Split('/')[0], CultureInfo.InvariantCulture, out var address)
    || !ushort.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out ushort port) || port == 0)
{
    Console.Error.WriteLine("usage: ack-responder TAP ADDRESS/PREFIX PORT (e.g. ack-responder tap0 198.18.0.2/24 8080)");
    return 2;
}
var mac = MacAddress.Parse("02:00:00:00:00:02", CultureInfo.InvariantCulture);
using var device = TapDevice.Open(args[0], mac, offload: true);
var responder = new AckResponder(device, mac, address, port);
Console.WriteLine($"ack-responder: sink listening on {address}:{port} (TAP {args[0]}, offload on)");
responder.Run();
return 0;
