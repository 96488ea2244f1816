using System.Diagnostics;
using System.Text;
using Unisharp.Testing;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// A guest that keeps running (a server) under QEMU (TCG), started inside a test's network namespace so its
/// TAP device is there: the serial console is collected, and the guest is killed on dispose.
/// </summary>
internal sealed class QemuGuest : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _console = new();
    private readonly Task _reading;
    private readonly Task<string> _stderr;

    private QemuGuest(Process process)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
        _reading = Task.Run(async () =>
        {
            char[] buffer = new char[4096];
            int n;
            while ((n = await process.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (_console)
                {
                    _console.Append(buffer, 0, n);
                }
            }
        });
    }

    /// <summary>What the guest wrote to its console so far (and QEMU's errors once it has ended).</summary>
    public string Console
    {
        get
        {
            lock (_console)
            {
                return _console.ToString() + (_stderr.IsCompleted ? _stderr.Result : "");
            }
        }
    }

    /// <summary>
    /// The QEMU arguments for a guest on <paramref name="machine"/> (<c>pc</c> or <c>microvm</c>; see <see cref="PcFirmware"/>) with its network
    /// card on host TAP <paramref name="tap"/>, and optionally its second serial port (ttyS1) writing to
    /// <paramref name="serialFile"/>. With <paramref name="offload"/> the card offers checksum offload and TCP
    /// segmentation both ways (QEMU's TAP with a virtio-net header), as Firecracker's does; without, plain frames.
    /// </summary>
    public static List<string> Arguments(string machine, string kernel, string initrd, string append, string tap, string mac, string? serialFile, bool offload = true)
    {
        var arguments = new List<string>
        {
            "-M", machine == "microvm" ? "microvm,acpi=off" : machine, "-accel", "tcg", "-m", "256", "-smp", "1", "-nographic", "-no-reboot", "-nodefaults",
            "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-netdev", $"tap,id=n0,ifname={tap},script=no,downscript=no{(offload ? "" : ",vnet_hdr=off")}",
            // -M pc has PCI (romfile= skips the iPXE boot ROM); -M microvm only virtio-mmio, announced to the
            // kernel by the virtio_mmio.device= words QEMU appends to the command line.
            "-device", machine == "microvm" ? $"virtio-net-device,netdev=n0,mac={mac}" : $"virtio-net-pci,netdev=n0,mac={mac},romfile=",
        };
        if (serialFile is not null)
        {
            // ttyS1 at 0x2f8, IRQ 3; -M microvm makes only one serial port from -serial, so it is declared here.
            arguments.AddRange(["-chardev", $"file,id=pcap,path={serialFile}", "-device", "isa-serial,chardev=pcap,index=1"]);
        }
        arguments.AddRange(["-kernel", kernel, "-initrd", initrd, "-append", append]);
        arguments.AddRange(PcFirmware(machine, kernel));
        return arguments;
    }

    /// <summary>
    /// <c>-bios bios-microvm.bin</c> (qboot) for the vmlinux on <c>pc</c>, as the <c>qemu</c> target boots it; nothing
    /// otherwise (a bzImage on <c>pc</c> boots from SeaBIOS; <c>microvm</c> always has qboot).
    /// </summary>
    public static string[] PcFirmware(string machine, string kernel) =>
        machine == "pc" && Path.GetFileName(kernel) == "vmlinux" ? ["-bios", "bios-microvm.bin"] : [];

    /// <summary>Starts QEMU with <paramref name="arguments"/> inside namespace <paramref name="ns"/>.</summary>
    public static QemuGuest Start(NetworkNamespace ns, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // ip netns exec execs QEMU in place: the process is QEMU itself.
        foreach (string argument in (string[])["netns", "exec", ns.Name, "qemu-system-x86_64", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        return new QemuGuest(Process.Start(start)!);
    }

    /// <summary>Waits until the console shows <paramref name="text"/>; false if QEMU ends or time runs out first.</summary>
    public async Task<bool> WaitForConsoleAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (Console.Contains(text, StringComparison.Ordinal))
            {
                return true;
            }
            if (_process.HasExited)
            {
                await _reading;
                return Console.Contains(text, StringComparison.Ordinal);
            }
            await Task.Delay(100);
        }
        return false;
    }

    /// <summary>Waits until QEMU ends by itself; its exit code, or null if time runs out first.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        await _reading;
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
        await _reading;
        await _stderr;
        _process.Dispose();
    }
}
