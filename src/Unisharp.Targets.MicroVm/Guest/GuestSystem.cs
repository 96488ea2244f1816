using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Unisharp.Targets.MicroVm.Interop;

namespace Unisharp.Targets.MicroVm.Guest;

/// <summary>
/// What the app must do because it is the guest's only process, PID 1: mount the kernel's file systems,
/// and when it ends, hand its exit code to the host and turn the machine off (init must never exit:
/// the kernel panics when it does).
/// </summary>
internal static unsafe class GuestSystem
{
    /// <summary>The port of QEMU's <c>-device isa-debug-exit,iobase=0xf4,iosize=0x04</c>.</summary>
    public const int DebugExitPort = 0xF4;

    /// <summary>The exit code when the app dies of an unhandled exception (EX_SOFTWARE of sysexits.h).</summary>
    public const int CrashExitCode = 70;

    private static int s_booted;
    private static int s_stopping;

    /// <summary>True when this process is init, the first process of a (virtual) machine.</summary>
    public static bool IsInit => Environment.ProcessId == 1;

    /// <summary>
    /// Mounts /proc, /sys and devtmpfs on /dev, and arranges for <see cref="PowerOff"/> at exit or crash.
    /// Runs once; does nothing outside PID 1.
    /// </summary>
    /// <param name="debugExit">Write the exit code to QEMU's isa-debug-exit port before powering off.</param>
    /// <param name="rebootToStop">
    /// Stop with a reboot rather than a power-off (Firecracker ends the VM on the guest's reboot, with
    /// <c>reboot=k</c> on the command line, and has no ACPI power-off).
    /// </param>
    public static void Boot(bool debugExit, bool rebootToStop)
    {
        if (!IsInit || Interlocked.Exchange(ref s_booted, 1) != 0)
        {
            return;
        }
        // First the way out, so that even a failed mount ends in a power-off with an exit code, not a panic.
        // Main's return value is Environment.ExitCode by the time ProcessExit runs (measured: NativeAOT too).
        AppDomain.CurrentDomain.ProcessExit += (_, _) => PowerOff(Environment.ExitCode, debugExit, rebootToStop);
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            Console.Error.WriteLine($"unisharp: the app crashed: {e.ExceptionObject}");
            PowerOff(CrashExitCode, debugExit, rebootToStop);
        };
        // The serial console is written as a plain file: System.Console would first set up the terminal (its terminfo,
        // SIGCHLD/SIGCONT handling and a signal thread), which a serial line to the host needs none of.
        Console.SetOut(ConsoleWriter(1));
        Console.SetError(ConsoleWriter(2));
        MountOnce("proc", "/proc", "proc", Libc.MS_NOSUID | Libc.MS_NODEV | Libc.MS_NOEXEC);
        MountOnce("sysfs", "/sys", "sysfs", Libc.MS_NOSUID | Libc.MS_NODEV | Libc.MS_NOEXEC);
        MountOnce("devtmpfs", "/dev", "devtmpfs", Libc.MS_NOSUID);
        // The guest kernel has no inotify, and the initramfs never changes: .NET's hosts (ASP.NET Core's
        // WebApplication.CreateSlimBuilder) would otherwise watch appsettings.json for changes through a
        // FileSystemWatcher, which fails with ENOSYS before the app starts. The configuration key
        // hostBuilder:reloadConfigOnChange is read from DOTNET_ variables; an app or boot environment may still set it.
        if (Environment.GetEnvironmentVariable(NoConfigReloadVariable) is null)
        {
            Environment.SetEnvironmentVariable(NoConfigReloadVariable, "false");
        }
    }

    /// <summary>The environment variable that turns off .NET hosts' reloading of configuration files on change.</summary>
    internal const string NoConfigReloadVariable = "DOTNET_hostBuilder__reloadConfigOnChange";

    /// <summary>
    /// Flushes the console and the disks, writes <paramref name="exitCode"/> to the isa-debug-exit port (QEMU then
    /// exits with status <c>((exitCode &lt;&lt; 1) | 1) &amp; 0xFF</c>), and powers the machine off. Never returns.
    /// </summary>
    public static void PowerOff(int exitCode, bool debugExit, bool rebootToStop)
    {
        if (Interlocked.Exchange(ref s_stopping, 1) != 0)
        {
            Thread.Sleep(Timeout.Infinite);
        }
        try
        {
            Console.Out.Flush();
            Console.Error.Flush();
        }
        catch (IOException)
        {
            // A console that cannot be written must not keep the machine running.
        }
        Libc.Sync();
        if (debugExit)
        {
            WritePort(DebugExitPort, (byte)exitCode);
        }
        // Our kernel has no ACPI, hence no power-off (it would halt and leave QEMU running when the isa-debug-exit
        // device is missing): it stops with a reset, which QEMU's -no-reboot and Firecracker turn into the VM's end.
        Libc.Reboot(rebootToStop || !Directory.Exists("/sys/firmware/acpi") ? Libc.RB_AUTOBOOT : Libc.RB_POWER_OFF);
        // Only reached when the kernel refused (no permission, which init always has): halt here
        // rather than exit, which would panic the kernel.
        Console.Error.WriteLine($"unisharp: power-off failed: {Libc.ErrorText(Marshal.GetLastPInvokeError())}");
        Thread.Sleep(Timeout.Infinite);
    }

    /// <summary>Writes one byte to an x86 I/O port: through /dev/port, or with ioperm and an <c>out</c> instruction.</summary>
    internal static bool WritePort(int port, byte value)
    {
        // /dev/port maps file offsets to I/O ports (CONFIG_DEVPORT): one byte at offset 0xf4 is one outb.
        int fd = Libc.Open("/dev/port", Libc.O_WRONLY | Libc.O_CLOEXEC);
        if (fd >= 0)
        {
            bool written = Libc.PWrite(fd, &value, 1, port) == 1;
            Libc.Close(fd);
            if (written)
            {
                return true;
            }
        }
        // Kernels without /dev/port (Debian's, for one): ask for the port (ioperm needs CAP_SYS_RAWIO, which init
        // has) and execute `out dx, al` from a four-instruction stub, since C# cannot emit it.
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64 || Libc.IoPerm((nuint)port, 1, 1) < 0)
        {
            return false;
        }
        byte* code = (byte*)Libc.MMap(null, 4096, Libc.PROT_READ | Libc.PROT_WRITE | Libc.PROT_EXEC, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
        if (code == (byte*)-1)
        {
            return false;
        }
        // mov edx, edi; mov eax, esi; out dx, al; ret  (System V: the port in edi, the value in esi)
        ReadOnlySpan<byte> stub = [0x89, 0xFA, 0x89, 0xF0, 0xEE, 0xC3];
        stub.CopyTo(new Span<byte>(code, stub.Length));
        ((delegate* unmanaged<int, int, void>)code)(port, value);
        return true;
    }

    /// <summary>A line-flushed UTF-8 writer on file descriptor <paramref name="fd"/> (the console, opened by the kernel for init).</summary>
    private static TextWriter ConsoleWriter(int fd)
    {
        var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: false), FileAccess.Write, bufferSize: 0);
        return TextWriter.Synchronized(new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1024) { AutoFlush = true });
    }

    private static void MountOnce(string source, string target, string type, ulong flags)
    {
        Libc.MkDir(target, 0x1ED);
        if (Libc.Mount(source, target, type, flags, 0) < 0 && Marshal.GetLastPInvokeError() != Libc.EBUSY)
        {
            throw Libc.LastError($"mount {type} on {target}");
        }
    }
}
