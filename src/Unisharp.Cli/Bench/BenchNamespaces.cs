using System.Collections.Concurrent;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.Bench;

/// <summary>
/// The network namespaces a bench makes: named after our process, deleted when the bench ends, on Ctrl-C and
/// SIGTERM (through cancellation), and at process exit as a last resort. Addresses are 198.18.0.0/15 only.
/// </summary>
internal static class BenchNamespaces
{
    private static readonly ConcurrentDictionary<string, byte> s_live = new(StringComparer.Ordinal);
    private static int s_counter;
    private static int s_hooked;

    /// <summary>Creates a namespace with loopback up and IPv6 off (no autoconfiguration chatter during a run).</summary>
    public static async Task<string> CreateAsync(string role, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref s_hooked, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteAll();
        }
        string name = $"usbench-{Environment.ProcessId}-{role}{Interlocked.Increment(ref s_counter)}";
        await Ip(cancellationToken, "netns", "add", name).ConfigureAwait(false);
        s_live[name] = 0;
        await Ip(cancellationToken, "-n", name, "link", "set", "lo", "up").ConfigureAwait(false);
        foreach (string key in (string[])["all", "default"])
        {
            await ProcessRunner.RunAsync("ip", ["netns", "exec", name, "sysctl", "-qw", $"net.ipv6.conf.{key}.disable_ipv6=1"], cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        return name;
    }

    /// <summary>Deletes <paramref name="name"/> (ending what still runs in it); never throws.</summary>
    public static void Delete(string name)
    {
        if (!s_live.TryRemove(name, out _))
        {
            return;
        }
        // Processes left in the namespace would keep its devices alive: end them first. Synchronous and bounded,
        // as this also runs from a signal handler and at process exit.
        try
        {
            string pids = Ip(TimeSpan.FromSeconds(10), "netns", "pids", name);
            foreach (string pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (int.TryParse(pid, out int id))
                {
                    try
                    {
                        System.Diagnostics.Process.GetProcessById(id).Kill(entireProcessTree: true);
                    }
                    catch (ArgumentException)
                    {
                        // Already gone.
                    }
                    catch (InvalidOperationException)
                    {
                        // Already gone.
                    }
                }
            }
            Ip(TimeSpan.FromSeconds(10), "netns", "delete", name);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // ip itself is missing: nothing was created.
        }
    }

    private static string Ip(TimeSpan timeout, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill();
            return "";
        }
        return output.Wait(timeout) ? output.Result : "";
    }

    public static void DeleteAll()
    {
        foreach (string name in s_live.Keys)
        {
            Delete(name);
        }
    }

    /// <summary>
    /// Joins <paramref name="clientNs"/> to <paramref name="serverNs"/> with a veth pair: <paramref name="clientCidr"/> on the
    /// client's end (usb-peer), <paramref name="serverCidr"/> on the server's (usb-srv), both up.
    /// </summary>
    public static async Task LinkVethAsync(string clientNs, string clientCidr, string serverNs, string serverCidr, CancellationToken cancellationToken)
    {
        await Ip(cancellationToken, "-n", clientNs, "link", "add", "usb-peer", "type", "veth", "peer", "name", "usb-srv", "netns", serverNs).ConfigureAwait(false);
        await Ip(cancellationToken, "-n", clientNs, "addr", "add", clientCidr, "dev", "usb-peer").ConfigureAwait(false);
        await Ip(cancellationToken, "-n", clientNs, "link", "set", "usb-peer", "up").ConfigureAwait(false);
        await Ip(cancellationToken, "-n", serverNs, "addr", "add", serverCidr, "dev", "usb-srv").ConfigureAwait(false);
        await Ip(cancellationToken, "-n", serverNs, "link", "set", "usb-srv", "up").ConfigureAwait(false);
    }

    /// <summary>Runs <c>ip ARGS</c> and fails with its message when it fails.</summary>
    public static async Task Ip(CancellationToken cancellationToken, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("ip", arguments, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new CliException($"ip {string.Join(' ', arguments)} failed: {result.Output.Trim()}");
        }
    }
}
