using System.Diagnostics;

namespace Unisharp.Net.Tests.Interop;

/// <summary>
/// A network namespace the test creates and always deletes, with a veth pair inside it: <c>u0</c> for our
/// stack (no address: the stack owns it) and <c>l0</c> for Linux, holding 198.18.0.1/24. Nothing touches the
/// root namespace.
/// </summary>
internal sealed class NetworkNamespace : IDisposable
{
    public const string OurInterface = "u0";
    public const string LinuxInterface = "l0";
    public static readonly MacAddress OurMac = MacAddress.Parse("02:00:00:00:04:0b");
    public static readonly Ipv4Address LinuxAddress = Ipv4Address.Parse("198.18.0.1");

    private static int s_count;
    private readonly List<Process> _processes = [];

    private NetworkNamespace(string name) => Name = name;

    public string Name { get; }

    /// <summary>True where the tests can run: Linux, root, and the <c>ip</c> tool.</summary>
    public static bool IsSupported =>
        OperatingSystem.IsLinux() && Environment.UserName == "root" && (File.Exists("/usr/sbin/ip") || File.Exists("/sbin/ip") || File.Exists("/usr/bin/ip"));

    public static NetworkNamespace Create()
    {
        var ns = new NetworkNamespace($"unisharp-net-{Environment.ProcessId}-{Interlocked.Increment(ref s_count)}");
        Run("ip", "netns", "add", ns.Name);
        try
        {
            ns.Ip("link", "add", OurInterface, "type", "veth", "peer", "name", LinuxInterface);
            ns.Ip("link", "set", OurInterface, "address", OurMac.ToString());
            ns.Ip("link", "set", LinuxInterface, "address", "02:00:00:00:04:0a");
            ns.Ip("addr", "add", $"{LinuxAddress}/24", "dev", LinuxInterface);
            ns.Ip("link", "set", "lo", "up");
            ns.Ip("link", "set", OurInterface, "up");
            ns.Ip("link", "set", LinuxInterface, "up");
            ns.Inside(() => LinuxNative.DisableTxChecksumOffload(LinuxInterface));
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="action"/> on a thread that has entered the namespace (sockets made there stay there).</summary>
    public T Inside<T>(Func<T> action)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{Name}");
                LinuxNative.Check(LinuxNative.setns((int)handle.DangerousGetHandle(), LinuxNative.CLONE_NEWNET), "setns");
                result = action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException($"in namespace {Name}: {failure.Message}", failure);
        }
        return result;
    }

    public void Inside(Action action) => Inside(() =>
    {
        action();
        return 0;
    });

    public void Ip(params string[] args) => Run("ip", ["-n", Name, .. args]);

    /// <summary>Runs a command in the namespace to completion; returns its exit code and output.</summary>
    public (int ExitCode, string Output) Exec(TimeSpan timeout, params string[] command)
    {
        using var process = StartProcess(["ip", "netns", "exec", Name, .. command]);
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, "timed out");
        }
        return (process.ExitCode, process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd());
    }

    /// <summary>Starts a long-running command in the namespace; it is killed on dispose.</summary>
    public Process Spawn(params string[] command)
    {
        var process = StartProcess(["ip", "netns", "exec", Name, .. command]);
        _processes.Add(process);
        return process;
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(2000);
                }
            }
            catch (InvalidOperationException)
            {
            }
            process.Dispose();
        }
        // Deleting the namespace deletes the veth pair in it.
        Run("ip", "netns", "del", Name);
    }

    private static Process StartProcess(string[] command)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in command[1..])
        {
            info.ArgumentList.Add(arg);
        }
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {command[0]}");
    }

    private static void Run(string file, params string[] args)
    {
        using var process = StartProcess([file, .. args]);
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {process.StandardError.ReadToEnd()}");
        }
    }
}
