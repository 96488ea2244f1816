using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Unisharp.Targets.MicroVm;

namespace Unisharp.Cli.MicroVm;

/// <summary>
/// How one microVM is started: the kernel command line and QEMU's arguments for a target. <c>qemu</c> is
/// QEMU's <c>pc</c> machine, devices on virtio-pci; <c>firecracker</c> is QEMU's <c>microvm</c> machine, devices
/// on virtio-mmio, the closest QEMU comes to Firecracker's device model. Both boot the same vmlinux straight
/// into its PVH entry point, from qboot, QEMU's minimal firmware (<c>microvm</c>'s own; on <c>pc</c> it replaces
/// SeaBIOS, see <see cref="Firmware"/>). Both get QEMU's isa-debug-exit device, through which the guest runtime
/// hands over the app's exit code (QEMU then exits with <c>(code &lt;&lt; 1) | 1</c>).
/// </summary>
internal sealed record MicroVmLaunch
{
    /// <summary>The I/O port of the isa-debug-exit device, as the guest runtime expects it.</summary>
    public const string DebugExitDevice = "isa-debug-exit,iobase=0xf4,iosize=0x04";

    public const int DefaultMemoryMib = 256;

    /// <summary>The longest kernel command line the kernel keeps (COMMAND_LINE_SIZE on x86, 2048, with its terminating zero); it cuts the rest.</summary>
    public const int MaxCommandLine = 2047;

    /// <summary>qboot, the firmware QEMU ships for <c>microvm</c>, found by QEMU in its data directory by this name.</summary>
    public const string QbootFirmware = "bios-microvm.bin";

    /// <summary>The port of QEMU's gdbstub for <c>--gdb</c> without a port, gdb's and QEMU's usual one.</summary>
    public const int DefaultGdbPort = 1234;

    public required string Target { get; init; }

    public required string Kernel { get; init; }

    public required string Initrd { get; init; }

    public int MemoryMib { get; init; } = DefaultMemoryMib;

    public int Cpus { get; init; } = 1;

    /// <summary><c>tcg</c> or <c>kvm</c>.</summary>
    public string Accelerator { get; init; } = "tcg";

    public IReadOnlyList<MicroVmDisk> Disks { get; init; } = [];

    /// <summary>The host's TAP interface for the guest's eth0, or null for no network card.</summary>
    public string? Tap { get; init; }

    /// <summary>
    /// Checksum and segmentation offload on the network card (the default), as Firecracker always offers it: QEMU's TAP
    /// with a virtio-net header, the guest's packet socket handing the stack partial checksums and 64 KiB TCP segments.
    /// False turns it off on both sides: <c>vnet_hdr=off</c> on QEMU's TAP (the card then offers no offload) and
    /// <c>unisharp.offload=off</c> for the guest (for Firecracker, whose card cannot be told).
    /// </summary>
    public bool Offload { get; init; } = true;

    /// <summary>Verbose kernel console and debug logs from the runtime; otherwise a quiet kernel.</summary>
    public bool Debug { get; init; }

    /// <summary>
    /// The TSC frequency given to the kernel (<c>tsc_early_khz=</c>) so it skips calibrating against the PIT,
    /// which under TCG takes long and on <c>microvm</c> now and then never ends. Null leaves it out.
    /// </summary>
    public long? TscKhz { get; init; }

    /// <summary>
    /// Leaves the local APIC timer out (<c>noapictimer</c>): the PIT ticks instead. For TCG, whose CPU has no
    /// TSC-deadline timer, so the kernel would first time the APIC timer against the PIT, 0.2 s of every boot.
    /// With KVM the APIC timer runs on the TSC deadline and needs no calibration.
    /// </summary>
    public bool NoApicTimer { get; init; }

    public IReadOnlyList<string> BootArguments { get; init; } = [];

    /// <summary>
    /// The firmware of <c>pc</c> (<c>-bios</c>): qboot by default. A kernel booted with <c>-kernel</c> needs nothing of
    /// SeaBIOS, QEMU's default, whose device set-up and option ROMs cost 0.1 s under TCG; the PVH vmlinux spares the
    /// guest unpacking a bzImage, another 0.1 s (bench/microvm). The devices need no interrupt routing from the
    /// firmware: the kernel gives virtio-pci MSI-X. Null keeps QEMU's default (SeaBIOS). <c>microvm</c> always has qboot.
    /// </summary>
    public string? Firmware { get; init; } = QbootFirmware;

    /// <summary>
    /// QEMU's gdbstub on 127.0.0.1 at this port, the VM stopped before its first instruction until gdb continues it,
    /// and the kernel and the app at fixed addresses (<c>nokaslr norandmaps</c>, see <see cref="GdbSession"/>). Null: no gdbstub.
    /// </summary>
    public int? GdbPort { get; init; }

    /// <summary>With <see cref="GdbPort"/>: the gdbstub on this Unix socket instead, for a QEMU inside a network namespace (<see cref="GdbForwarder"/>).</summary>
    public string? GdbSocket { get; init; }

    private bool IsMicrovm => Target == "firecracker";

    /// <summary>The guest's MAC address: locally administered, the same for the same TAP name.</summary>
    public string GuestMac
    {
        get
        {
            byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(Tap ?? "eth0"));
            return $"02:55:53:{hash[0]:x2}:{hash[1]:x2}:{hash[2]:x2}";
        }
    }

    /// <summary>The kernel's own words, without the app's: console, panic handling, verbosity, timer and disks.</summary>
    public IReadOnlyList<string> KernelWords(bool forFirecracker = false)
    {
        // panic=-1: reboot at once on a panic, which QEMU's -no-reboot turns into an exit.
        var words = new List<string> { "console=ttyS0", "panic=-1" };
        if (IsMicrovm)
        {
            // Firecracker stops the VM when the guest resets through the keyboard controller; it has no PCI.
            words.AddRange(["reboot=k", "pci=off"]);
        }
        // quiet: errors and worse. microvm has no PCI, and though pci=off spares the probing, x86's PCI set-up still says
        // "PCI: Fatal: No config space access function found" (KERN_ERR) when CONFIG_PCI, which the qemu target needs, is in
        // the shared kernel: loglevel=3 keeps errors off the console there (a panic still shows), the app reports its own.
        words.Add(Debug ? "loglevel=7" : IsMicrovm ? "loglevel=3" : "quiet");
        // The check that the PIT's interrupt reaches the IO-APIC takes a few hundred ms under TCG and, on a busy
        // host, fails with "MP-BIOS bug" on the console; a virtual machine's timer wiring is known to be fine.
        words.Add("no_timer_check");
        if (TscKhz is long khz && !forFirecracker)
        {
            words.Add($"tsc_early_khz={khz}");
        }
        if (NoApicTimer && !forFirecracker)
        {
            words.Add("noapictimer");
        }
        words.AddRange(Disks.Select(d => d.CommandLineWord));
        if (!Offload && Tap is not null)
        {
            words.Add("unisharp.offload=off");
        }
        if (GdbPort is not null)
        {
            // The kernel where its vmlinux says, and no random placement of user space: /init, a PIE, at a known base.
            words.AddRange(["nokaslr", "norandmaps"]);
        }
        return words;
    }

    /// <summary>The app's arguments: its boot arguments, plus the debug log level.</summary>
    public IReadOnlyList<string> AppArguments()
    {
        var arguments = BootArguments.ToList();
        if (Debug && !BootArguments.Any(a => a.StartsWith("--log-level", StringComparison.Ordinal)))
        {
            arguments.Add("--log-level=debug");
        }
        return arguments;
    }

    /// <summary>
    /// The whole kernel command line: the kernel's words, then the app's arguments in one <c>unisharp.args=</c> word (see
    /// <see cref="AppArgumentsWord"/>), never after a <c>--</c>: the <c>virtio_mmio.device=</c> words QEMU's <c>microvm</c>
    /// and Firecracker append must stay the kernel's.
    /// </summary>
    /// <exception cref="CliException">The line is longer than the kernel keeps.</exception>
    public string CommandLine(bool forFirecracker = false)
    {
        string line = string.Join(' ', KernelWords(forFirecracker).Append(AppArgumentsWord.Encode(AppArguments())).OfType<string>());
        return line.Length <= MaxCommandLine
            ? line
            : throw new CliException($"the kernel command line would be {line.Length} bytes, over the {MaxCommandLine} the kernel keeps: shorten the app's boot arguments");
    }

    /// <summary>QEMU's arguments (after the program name), serial console on standard output.</summary>
    public IReadOnlyList<string> QemuArguments()
    {
        string bus = IsMicrovm ? "device" : "pci";
        var arguments = new List<string>
        {
            "-M", IsMicrovm ? "microvm,acpi=off" : "pc",
            "-accel", Accelerator,
            "-m", MemoryMib.ToString(CultureInfo.InvariantCulture),
            "-smp", Cpus.ToString(CultureInfo.InvariantCulture),
            "-display", "none", "-nodefaults", "-no-user-config", "-no-reboot",
            "-serial", "stdio",
            "-device", DebugExitDevice,
            "-kernel", Kernel,
            "-initrd", Initrd,
            "-append", CommandLine(),
        };
        if (!IsMicrovm && Firmware is not null)
        {
            arguments.InsertRange(2, ["-bios", Firmware]);
        }
        if (GdbPort is int port)
        {
            // Loopback only: the gdbstub gives whoever connects the whole machine.
            string stub = GdbSocket is { } socket
                ? $"unix:{socket.Replace(",", ",,", StringComparison.Ordinal)},server=on,wait=off"
                : $"tcp:127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
            arguments.AddRange(["-gdb", stub, "-S"]);
        }
        if (Tap is not null)
        {
            arguments.AddRange(NetworkArguments(Tap));
        }
        foreach (var disk in Disks)
        {
            // werror/rerror=report: a failed write or read (a full host disk) is an I/O error the guest sees, where QEMU's
            // default (werror=enospc) would pause the VM on a full disk, silently, for ever.
            string id = "disk-" + disk.GuestDevice;
            arguments.AddRange([
                "-drive", $"id={id},file={disk.Path.Replace(",", ",,", StringComparison.Ordinal)},format=raw,if=none,werror=report,rerror=report{(disk.ReadOnly ? ",readonly=on" : "")}",
                "-device", $"virtio-blk-{bus},drive={id}",
            ]);
        }
        return arguments;
    }

    /// <summary>QEMU's arguments for the network card on host TAP <paramref name="tap"/> (a name, or a shell variable in launch.sh).</summary>
    public IReadOnlyList<string> NetworkArguments(string tap) =>
    [
        // With vnet_hdr (QEMU's default where the TAP has it) the card offers the guest checksum offload and TCP
        // segmentation both ways, as Firecracker's does; vnet_hdr=off takes them away. romfile= skips the iPXE ROM a
        // unikernel never boots from.
        "-netdev", $"tap,id=net0,ifname={tap},script=no,downscript=no{(Offload ? "" : ",vnet_hdr=off")}",
        "-device", $"virtio-net-{(IsMicrovm ? "device" : "pci")},netdev=net0,mac={GuestMac}{(IsMicrovm ? "" : ",romfile=")}",
    ];

    /// <summary>The host's TSC frequency in kHz from /proc/cpuinfo (TCG's guest TSC runs at the host's rate), or null.</summary>
    public static long? HostTscKhz()
    {
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("cpu MHz", StringComparison.Ordinal));
            return line is not null && double.TryParse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture, out double mhz) && mhz > 0
                ? (long)(mhz * 1000)
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
