using System.Runtime.InteropServices;

namespace Unisharp.Cli.HostTools;

/// <summary>Sends a POSIX signal to a child process (Process.Kill only sends SIGKILL).</summary>
internal static partial class ProcessSignal
{
    public const int Interrupt = 2;
    public const int Terminate = 15;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; a process already gone is no error.</summary>
    public static void Send(int pid, int signal) => _ = Kill(pid, signal);

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
