using System.Runtime.InteropServices;

namespace Unisharp.Testing;

/// <summary>
/// A Linux network namespace made for one test and deleted after it, so TAP and veth devices and their
/// addresses (198.18.0.0/15 only) never touch the host's own network.
/// </summary>
public sealed partial class NetworkNamespace : IDisposable
{
    private const int CLONE_NEWNET = 0x40000000;
    private static int s_counter;
    private readonly bool _owned;

    private NetworkNamespace(string name, bool owned = true)
    {
        Name = name;
        _owned = owned;
    }

    public string Name { get; }

    /// <summary>Why namespaces cannot be made here (not root, no <c>ip</c>), or null when they can.</summary>
    public static string? UnavailableReason { get; } = Probe();

    /// <summary>Creates a fresh namespace with its loopback up and IPv6 off (no autoconfiguration chatter in captures).</summary>
    public static NetworkNamespace Create(string prefix = "us")
    {
        if (UnavailableReason is not null)
        {
            throw new InvalidOperationException(UnavailableReason);
        }
        string name = $"{prefix}-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}";
        HostCommand.Run("ip", ["netns", "add", name]).EnsureSuccess($"ip netns add {name}");
        var ns = new NetworkNamespace(name);
        try
        {
            ns.Exec("ip", "link", "set", "lo", "up").EnsureSuccess("bring lo up");
            ns.Exec("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1").EnsureSuccess("disable IPv6");
            ns.Exec("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1").EnsureSuccess("disable IPv6");
        }
        catch
        {
            ns.Dispose();
            throw;
        }
        return ns;
    }

    /// <summary>
    /// A namespace someone else made and deletes (the tool's <c>unisharp-PID</c>), to run peers in; disposing this
    /// handle leaves it.
    /// </summary>
    public static NetworkNamespace Existing(string name) => new(name, owned: false);

    /// <summary>Runs a command inside the namespace (<c>ip netns exec</c>).</summary>
    public HostCommand.Result Exec(params string[] command) => Exec(TimeSpan.FromSeconds(60), command);

    public HostCommand.Result Exec(TimeSpan timeout, params string[] command) =>
        HostCommand.Run("ip", ["netns", "exec", Name, .. command], timeout);

    /// <summary>
    /// Starts a long-running peer (a server) inside the namespace and returns at once; its output is read and dropped.
    /// The caller kills and disposes it.
    /// </summary>
    public System.Diagnostics.Process Start(params string[] command)
    {
        var start = new System.Diagnostics.ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in (string[])["netns", "exec", Name, .. command])
        {
            start.ArgumentList.Add(argument);
        }
        var process = System.Diagnostics.Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// Runs <paramref name="action"/> on a new thread that has entered the namespace: sockets and TAP devices
    /// it opens belong to the namespace, and stay usable from any thread afterwards.
    /// </summary>
    public T Inside<T>(Func<T> action)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                int fd = Open($"/var/run/netns/{Name}", 0);
                if (fd < 0)
                {
                    throw new IOException($"open netns {Name}: errno {Marshal.GetLastPInvokeError()}");
                }
                try
                {
                    if (SetNs(fd, CLONE_NEWNET) != 0)
                    {
                        throw new IOException($"setns {Name}: errno {Marshal.GetLastPInvokeError()}");
                    }
                }
                finally
                {
                    Close(fd);
                }
                result = action();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            throw new InvalidOperationException($"inside namespace {Name}: {error.Message}", error);
        }
        return result;
    }

    public void Dispose()
    {
        if (_owned)
        {
            HostCommand.Run("ip", ["netns", "delete", Name]);
        }
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "network namespaces need Linux";
        }
        if (Environment.UserName != "root")
        {
            return "network namespaces need root (run the tests as root)";
        }
        if (!HostCommand.Exists("ip"))
        {
            return "the 'ip' command is missing (apt-get install iproute2)";
        }
        return null;
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
