using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Unisharp.Cli.Bench;

/// <summary>Moves the calling thread into a named network namespace; sockets it opens afterwards belong there.</summary>
internal static partial class NamespaceEntry
{
    private const int CLONE_NEWNET = 0x40000000;

    public static void EnterOnThisThread(string ns)
    {
        using SafeFileHandle handle = File.OpenHandle($"/var/run/netns/{ns}");
        if (SetNs(handle, CLONE_NEWNET) != 0)
        {
            throw new IOException($"setns {ns}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(SafeFileHandle fd, int nstype);
}
