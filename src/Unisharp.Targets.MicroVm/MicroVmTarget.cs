using Unisharp.Block;
using Unisharp.Devices;
using Unisharp.Devices.Middleware;
using Unisharp.Hosting;
using Unisharp.Targets.MicroVm.Block;
using Unisharp.Targets.MicroVm.Guest;
using Unisharp.Targets.MicroVm.Network;

namespace Unisharp.Targets.MicroVm;

/// <summary>
/// The microVM targets, <c>qemu</c> and <c>firecracker</c>: the app is <c>/init</c> of a minimal Linux guest,
/// its only process. It mounts /proc, /sys and /dev itself, writes to the serial console (its standard
/// streams are <c>/dev/console</c>), reaches the network through <c>eth0</c> (virtio-net) with raw frames
/// for our own stack, and its disks are the guest's virtio-blk devices. When it ends it powers the machine
/// off, giving QEMU its exit code through the isa-debug-exit device.
/// </summary>
/// <remarks>
/// <para>
/// Everything comes from the kernel command line (<c>/proc/cmdline</c>), whose words are read as follows:
/// <c>unisharp.args=ARG,ARG,…</c> carries the app's boot arguments, each percent-encoded (see
/// <see cref="AppArgumentsWord"/>; the tool writes it); <c>disk.NAME=DEVICE[:ro]</c> makes disk NAME the
/// guest's <c>/dev/DEVICE</c>; <c>unisharp.net=IFNAME</c> picks another network interface than eth0;
/// <c>unisharp.pcap=TTY</c> records every frame of the network card, in pcap format, to serial port TTY
/// (<c>ttyS1</c>: the host attaches that port to a file, see <see cref="PcapPort"/>); every
/// other word belongs to the kernel. These words have a dot in their names, so the kernel takes them for module
/// parameters and leaves them alone, wherever they are: QEMU's <c>-M microvm</c> and Firecracker append their
/// <c>virtio_mmio.device=</c> words to the end of the command line, and the kernel must see those itself.
/// </para>
/// <para>
/// A word starting with <c>--</c> written by hand (<c>--count=4</c>, values with <c>=</c> and spaces quoted:
/// <c>--greeting="hello world"</c>) is a boot argument too, after those of <c>unisharp.args=</c>. A bare
/// <c>--</c> is ignored by us, but the kernel hands every word after it to init, <c>virtio_mmio.device=</c>
/// words included, whose devices then do not exist: that is refused with a message saying so.
/// </para>
/// <para>
/// Outside PID 1 (a test, or the image run as an ordinary process) the process's own arguments are read
/// by the same rule and nothing is mounted or powered off.
/// </para>
/// </remarks>
public sealed class MicroVmTarget : UnikernelTarget
{
    /// <summary>The default network interface: the first virtio-net card.</summary>
    public const string DefaultInterface = "eth0";

    private static readonly OptionHelp[] s_options =
    [
        new("unisharp.args=ARG,ARG", "On the kernel command line: the app's boot arguments, each percent-encoded (%XX for spaces, quotes, '%', ',' and non-ASCII bytes)."),
        new("--NAME=VALUE", "On the kernel command line: a boot argument of the app, after those of unisharp.args=."),
        new("disk.NAME=vdX[:ro]", "On the kernel command line: disk NAME is the guest's /dev/vdX; ':ro' opens it read-only."),
        new("unisharp.net=IFNAME", $"On the kernel command line: the network interface. [default: {DefaultInterface}]"),
        new("unisharp.rxring=v2|v3|off", "On the kernel command line: receive through a TPACKET_V2 or V3 ring, or one recv per frame. [default: v2]"),
        new("unisharp.offload=on|off", "On the kernel command line: checksum and TCP segmentation offload on the network card. [default: on]"),
        new("unisharp.pcap=TTY", "On the kernel command line: write every frame in and out of the network card to serial port TTY (e.g. ttyS1), in pcap format."),
    ];

    private readonly Dictionary<string, GuestDisk> _disks = new(StringComparer.Ordinal);
    private readonly Func<string?> _readCommandLine;

    /// <param name="name"><c>qemu</c> or <c>firecracker</c>.</param>
    public MicroVmTarget(string name)
        : this(name, ReadProcCommandLine)
    {
    }

    /// <param name="name"><c>qemu</c> or <c>firecracker</c>.</param>
    /// <param name="readCommandLine">Gives the kernel command line when running as init (tests replace it).</param>
    internal MicroVmTarget(string name, Func<string?> readCommandLine)
    {
        if (name is not ("qemu" or "firecracker"))
        {
            throw new ArgumentException($"'{name}' is not a microVM target: expected qemu or firecracker", nameof(name));
        }
        Name = name;
        _readCommandLine = readCommandLine;
    }

    public override string Name { get; }

    public override IReadOnlyList<OptionHelp> DeviceOptions => s_options;

    /// <summary>The disks given with <c>disk.NAME=DEVICE</c>, by name.</summary>
    public IReadOnlyDictionary<string, GuestDisk> Disks => _disks;

    /// <summary>The network interface, <c>eth0</c> unless <c>unisharp.net=</c> says otherwise.</summary>
    public string NetworkInterface { get; private set; } = DefaultInterface;

    /// <summary>
    /// The serial port that receives a pcap capture of the network card (<c>unisharp.pcap=ttyS1</c>), or null.
    /// On QEMU the host gives that port a file: <c>-chardev file,id=pcap,path=HOST.pcap
    /// -device isa-serial,chardev=pcap,index=1</c> (ttyS1 at 0x2f8, on <c>-M pc</c> and <c>-M microvm</c> alike).
    /// </summary>
    public string? PcapPort { get; private set; }

    /// <summary>How the network card receives: <c>unisharp.rxring=v2</c> (the default), <c>v3</c> or <c>off</c> (recv).</summary>
    public PacketReceiveMode ReceiveMode { get; private set; } = PacketSocketDevice.DefaultReceiveMode;

    /// <summary>Checksum and segmentation offload on the network card: <c>unisharp.offload=on</c> (the default) or <c>off</c>.</summary>
    public bool Offload { get; private set; } = true;

    /// <summary>QEMU (pc) is stopped with a power-off, Firecracker with a reboot; both write the exit code to isa-debug-exit, which QEMU's microvm has and Firecracker ignores.</summary>
    private bool IsQemu => Name == "qemu";

    /// <summary>Not as init: no one in the guest can signal it (and the kernel delivers init only the signals it handles).</summary>
    public override bool StopsOnSignals => !GuestSystem.IsInit;

    public override IReadOnlyList<string> TakeDeviceOptions(IReadOnlyList<string> args)
    {
        IReadOnlyList<string> words = args;
        if (GuestSystem.IsInit)
        {
            // First thing as init: mount /proc (the command line is there) and arrange the power-off.
            GuestSystem.Boot(debugExit: true, rebootToStop: !IsQemu);
            words = KernelCommandLine.Split(_readCommandLine() ?? "");
        }
        return TakeOptions(words);
    }

    /// <summary>Sorts command-line words into device options (kept here) and boot arguments (returned).</summary>
    internal IReadOnlyList<string> TakeOptions(IReadOnlyList<string> words)
    {
        var encoded = new List<string>();
        var bootArguments = new List<string>();
        bool afterSeparator = false;
        foreach (string word in words)
        {
            if (word.StartsWith("--", StringComparison.Ordinal))
            {
                if (word.Length > 2)
                {
                    bootArguments.Add(word);
                }
                else
                {
                    afterSeparator = true;
                }
            }
            else if (word.StartsWith(AppArgumentsWord.Prefix, StringComparison.Ordinal))
            {
                try
                {
                    encoded.AddRange(AppArgumentsWord.Decode(word[AppArgumentsWord.Prefix.Length..]));
                }
                catch (FormatException e)
                {
                    throw new BootArgumentException(e.Message);
                }
            }
            else if (afterSeparator && word.StartsWith("virtio_mmio.device=", StringComparison.Ordinal))
            {
                throw new BootArgumentException("the kernel command line has virtio_mmio.device= words after '--', so the kernel handed them to the app " +
                    "instead of adding those devices: give the app's arguments with unisharp.args= (as 'unisharp run' and launch.sh do), not after '--'");
            }
            else if (word.StartsWith("disk.", StringComparison.Ordinal))
            {
                var disk = GuestDisk.Parse(word[5..]);
                if (!_disks.TryAdd(disk.Name, disk))
                {
                    throw new BootArgumentException($"disk '{disk.Name}' is given twice");
                }
            }
            else if (word.StartsWith("unisharp.net=", StringComparison.Ordinal))
            {
                NetworkInterface = word["unisharp.net=".Length..] is { Length: > 0 } name
                    ? name
                    : throw new BootArgumentException("unisharp.net= needs an interface name, e.g. unisharp.net=eth0");
            }
            else if (word.StartsWith("unisharp.rxring=", StringComparison.Ordinal))
            {
                ReceiveMode = word["unisharp.rxring=".Length..] switch
                {
                    "v2" => PacketReceiveMode.RingV2,
                    "v3" => PacketReceiveMode.RingV3,
                    "off" => PacketReceiveMode.Recv,
                    _ => throw new BootArgumentException("unisharp.rxring= takes v2, v3 or off"),
                };
            }
            else if (word.StartsWith("unisharp.offload=", StringComparison.Ordinal))
            {
                Offload = word["unisharp.offload=".Length..] switch
                {
                    "on" => true,
                    "off" => false,
                    _ => throw new BootArgumentException("unisharp.offload= takes on or off"),
                };
            }
            else if (word.StartsWith("unisharp.pcap=", StringComparison.Ordinal))
            {
                PcapPort = word["unisharp.pcap=".Length..] is { Length: > 0 } port && !port.Contains('/')
                    ? port
                    : throw new BootArgumentException("unisharp.pcap= needs a serial port name, e.g. unisharp.pcap=ttyS1");
            }
        }
        encoded.AddRange(bootArguments);
        return encoded;
    }

    public override ValueTask<TargetDevices> OpenAsync(DeviceRequest request, CancellationToken cancellationToken)
    {
        foreach (string name in _disks.Keys.Where(n => !request.Disks.Contains(n)))
        {
            request.Log.Warning(Name, $"disk '{name}' was given but the app does not use it");
        }
        var missing = request.Disks.Where(n => !_disks.ContainsKey(n)).ToList();
        if (missing.Count > 0)
        {
            throw new BootArgumentException($"the app needs disk '{missing[0]}': add disk.{missing[0]}=vdX to the kernel command line");
        }

        var clock = new SystemClock();
        INetworkDevice? device = null;
        var disks = new Dictionary<string, IBlockDevice>(StringComparer.Ordinal);
        try
        {
            if (request.Stack || request.NetworkDevice)
            {
                // The guest kernel has no TCP/IP: our stack always runs over the raw device.
                var card = PacketSocketDevice.Open(NetworkInterface, ReceiveMode, Offload);
                device = card;
                request.Log.Info(Name, $"network: {NetworkInterface}, MAC {card.MacAddress}, MTU {card.Capabilities.Mtu}; receive: {card.ReceivePath}");
                if (card.RingError is not null)
                {
                    request.Log.Warning(Name, $"network: no PACKET_MMAP receive ring ({card.RingError}): receiving with recv");
                }
                if (PcapPort is not null)
                {
                    var port = RawSerialPort.OpenForWriting(PcapPort);
                    try
                    {
                        device = new PcapWriterDevice(device, port, clock);
                    }
                    catch
                    {
                        port.Dispose();
                        throw;
                    }
                    request.Log.Info(Name, $"network: capturing frames to /dev/{PcapPort} (pcap)");
                }
            }
            foreach (string name in request.Disks)
            {
                var option = _disks[name];
                var disk = new BlockIoScheduler(GuestBlockDevice.Open(name, option.Device, option.ReadOnly, log: request.Log));
                disks.Add(name, disk);
                request.Log.Info(Name, $"disk {name}: {option.DevicePath}, {disk.Info.SectorCount} sectors of {disk.Info.SectorSize} bytes{(disk.Info.ReadOnly ? ", read-only" : "")}");
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
            Entropy = new GuestEntropy(),
            Console = new TextWriterConsole(),
            Network = device,
            Disks = disks,
        });
    }

    private static string? ReadProcCommandLine()
    {
        try
        {
            return File.ReadAllText("/proc/cmdline");
        }
        catch (IOException)
        {
            return null;
        }
    }
}
