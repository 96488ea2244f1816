using Unisharp.Block;
using Unisharp.Devices;
using Unisharp.Devices.Middleware;
using Unisharp.Hosting;
using Unisharp.Net;
using Unisharp.Linux;
using Unisharp.Targets.Unix.Network;
using Unisharp.Targets.Unix.Sockets;

namespace Unisharp.Targets.Unix;

/// <summary>
/// The <c>unix</c> target: the unikernel as an ordinary Linux process. Network: our stack over a TAP
/// interface (<c>--net tap:NAME</c>) or the host's sockets (<c>--net socket</c>, the default); disks: files
/// or host block devices (<c>--disk NAME=PATH</c>).
/// </summary>
public sealed class UnixTarget : UnikernelTarget
{
    private static readonly OptionHelp[] s_options =
    [
        new("--net tap:NAME|socket", "Network: our stack over TAP interface NAME (created if absent), or the host's sockets. [default: socket]"),
        new("--mac ADDR", "Our MAC address on a TAP link. [default: random, locally administered]"),
        new("--disk NAME=PATH[:ro]", "Disk NAME is the file or block device PATH; ':ro' opens it read-only. Repeat for more disks."),
        new("--net-offload on|off", "Checksum and TCP segmentation offload on the TAP device (64 KiB segments to and from the host); off only for comparison. [default: on]"),
        new("--pcap FILE", "Write every frame in and out of the TAP device to FILE (libpcap format)."),
        new("--net-fault SPEC", "Inject seeded faults on the TAP device, e.g. drop=0.05,reorder=0.02,duplicate=0.01,delay=5ms,seed=7."),
    ];

    private readonly Dictionary<string, DiskOption> _disks = new(StringComparer.Ordinal);

    public override string Name => "unix";

    public override IReadOnlyList<OptionHelp> DeviceOptions => s_options;

    /// <summary>The network chosen with <c>--net</c>.</summary>
    public NetOption Net { get; private set; } = NetOption.Socket;

    /// <summary>The MAC address given with <c>--mac</c>, if any.</summary>
    public MacAddress? Mac { get; private set; }

    /// <summary>Offload on the TAP device (<c>--net-offload</c>); middleware (<c>--pcap</c>, <c>--net-fault</c>) turns it off.</summary>
    public bool Offload { get; private set; } = true;

    /// <summary>The capture file given with <c>--pcap</c>, if any.</summary>
    public string? PcapPath { get; private set; }

    /// <summary>The faults given with <c>--net-fault</c>, if any.</summary>
    public FaultOptions? Faults { get; private set; }

    /// <summary>The disks given with <c>--disk</c>, by name.</summary>
    public IReadOnlyDictionary<string, DiskOption> Disks => _disks;

    public override IReadOnlyList<string> TakeDeviceOptions(IReadOnlyList<string> args)
    {
        var rest = new List<string>(args.Count);
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (arg == "--")
            {
                rest.AddRange(args.Skip(i + 1));
                break;
            }
            if (!TrySplit(arg, args, ref i, out string? name, out string? value))
            {
                rest.Add(arg);
                continue;
            }
            switch (name)
            {
                case "net":
                    Net = NetOption.Parse(value);
                    break;
                case "mac":
                    Mac = MacAddress.TryParse(value, null, out var mac) && mac.IsUnicast
                        ? mac
                        : throw new BootArgumentException($"invalid value '{value}' for --mac: expected a unicast MAC address like 02:00:00:00:00:01");
                    break;
                case "net-offload":
                    Offload = value switch
                    {
                        "on" => true,
                        "off" => false,
                        _ => throw new BootArgumentException($"invalid value '{value}' for --net-offload: expected on or off"),
                    };
                    break;
                case "pcap":
                    PcapPath = value.Length > 0 ? value : throw new BootArgumentException("--pcap needs a file name");
                    break;
                case "net-fault":
                    Faults = FaultOptions.TryParse(value, out var faults, out string error)
                        ? faults
                        : throw new BootArgumentException($"invalid value '{value}' for --net-fault: {error}");
                    break;
                case "disk":
                    var disk = DiskOption.Parse(value);
                    if (!_disks.TryAdd(disk.Name, disk))
                    {
                        throw new BootArgumentException($"disk '{disk.Name}' is given twice");
                    }
                    break;
            }
        }
        return rest;
    }

    /// <summary>Recognises the device options in both <c>--x=v</c> and <c>--x v</c> forms.</summary>
    private static bool TrySplit(string arg, IReadOnlyList<string> args, ref int i, out string? name, out string value)
    {
        name = null;
        value = "";
        foreach (string option in (ReadOnlySpan<string>)["net", "mac", "disk", "pcap", "net-fault", "net-offload"])
        {
            string flag = "--" + option;
            if (arg == flag)
            {
                if (i + 1 >= args.Count)
                {
                    throw new BootArgumentException($"{flag} needs a value");
                }
                name = option;
                value = args[++i];
                return true;
            }
            if (arg.StartsWith(flag + "=", StringComparison.Ordinal))
            {
                name = option;
                value = arg[(flag.Length + 1)..];
                return true;
            }
        }
        return false;
    }

    public override ValueTask<TargetDevices> OpenAsync(DeviceRequest request, CancellationToken cancellationToken)
    {
        foreach (string name in _disks.Keys.Where(n => !request.Disks.Contains(n)))
        {
            request.Log.Warning("unix", $"disk '{name}' was given but the app does not use it");
        }
        var missing = request.Disks.Where(n => !_disks.ContainsKey(n)).ToList();
        if (missing.Count > 0)
        {
            throw new BootArgumentException($"the app needs disk '{missing[0]}': give --disk {missing[0]}=PATH");
        }

        var clock = new SystemClock();
        var entropy = new SystemEntropy();
        INetworkDevice? device = null;
        IStack? stack = null;
        var disks = new Dictionary<string, IBlockDevice>(StringComparer.Ordinal);
        try
        {
            if (request.Stack || request.NetworkDevice)
            {
                if (Net.Tap is { } tap)
                {
                    var mac = Mac ?? RandomMac(entropy);
                    // Middleware sees plain frames: a capture or fault on 64 KiB segments would not be the wire's.
                    bool offload = Offload && PcapPath is null && Faults is not { IsNone: false };
                    device = TapDevice.Open(tap, mac, offload);
                    request.Log.Info("unix", $"network: TAP {tap}, MTU {device.Capabilities.Mtu}, our MAC {mac}, offload {(offload ? "on" : "off")}");
                    // Faults sit next to the wire, the capture above them: the pcap shows what the stack saw.
                    if (Faults is { IsNone: false } faults)
                    {
                        device = new FaultInjectorDevice(device, faults, clock);
                        request.Log.Info("unix", $"network: injecting faults {faults}");
                    }
                    if (PcapPath is not null)
                    {
                        device = PcapWriterDevice.Create(device, PcapPath, clock);
                        request.Log.Info("unix", $"network: capturing frames to {PcapPath}");
                    }
                }
                else if (PcapPath is not null || Faults is not null)
                {
                    throw new BootArgumentException("--pcap and --net-fault work on frames: they need --net tap:NAME");
                }
                else if (request.NetworkDevice)
                {
                    throw new BootArgumentException("the app handles raw frames: give --net tap:NAME");
                }
                else
                {
                    var address = request.Ip.Address?.Address ?? Ipv4Address.Any;
                    stack = new HostSocketStack(address, request.Tcp);
                    request.Log.Info("unix", $"network: host sockets on {(address.IsUnspecified ? "all addresses" : address.ToString())}");
                }
            }
            foreach (string name in request.Disks)
            {
                var option = _disks[name];
                // The scheduler splits, aligns and runs requests in parallel within the device's limits.
                var disk = new BlockIoScheduler(FileBlockDevice.Open(name, option.Path, option.ReadOnly, options: new FileBlockDeviceOptions { Log = request.Log }));
                disks.Add(name, disk);
                request.Log.Info("unix", $"disk {name}: {option.Path}, {disk.Info.SectorCount} sectors of {disk.Info.SectorSize} bytes{(option.ReadOnly ? ", read-only" : "")}");
            }
        }
        catch
        {
            device?.Dispose();
            foreach (var disk in disks.Values)
            {
                disk.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            throw;
        }
        return ValueTask.FromResult(new TargetDevices
        {
            Clock = clock,
            Entropy = entropy,
            Console = new TextWriterConsole(),
            Network = device,
            Stack = stack,
            Disks = disks,
        });
    }

    private static MacAddress RandomMac(IEntropy entropy)
    {
        Span<byte> random = stackalloc byte[6];
        entropy.Fill(random);
        return MacAddress.CreateLocal(random);
    }
}
