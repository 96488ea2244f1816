using System.Globalization;
using System.Net;
using Unisharp.Cli.HostTools;

namespace Unisharp.Cli.MicroVm;

/// <summary>
/// The host side of a microVM's network card: a TAP interface inside a network namespace of its own
/// (<c>unisharp-PID</c>), so nothing touches the host's own network. QEMU runs inside the namespace to open the
/// TAP; the TAP gets an address from 198.18.0.0/15 (RFC 2544, for testing) next to the guest's, and the
/// namespace is deleted, TAP and all, when the VM stops.
/// </summary>
internal sealed class GuestNetwork : IAsyncDisposable
{
    private readonly bool _ownsNamespace;
    private bool _disposed;

    private GuestNetwork(string ns, string tap, bool ownsNamespace, string? hostAddress, string? guestAddress)
    {
        Namespace = ns;
        Tap = tap;
        _ownsNamespace = ownsNamespace;
        HostAddress = hostAddress;
        GuestAddress = guestAddress;
    }

    public string Namespace { get; }

    public string Tap { get; }

    /// <summary>The TAP's address with its prefix (e.g. 198.18.0.1/24), or null when none was given.</summary>
    public string? HostAddress { get; }

    /// <summary>The guest's address from its <c>--ipv4=</c> boot argument, or null.</summary>
    public string? GuestAddress { get; }

    /// <summary>
    /// Makes namespace <c>unisharp-PID</c> (or uses <paramref name="existingNamespace"/>) with TAP <paramref name="tap"/> in it, up,
    /// with an address next to the guest's <c>--ipv4=</c>.
    /// </summary>
    public static async Task<GuestNetwork> CreateAsync(string tap, string? existingNamespace, IReadOnlyList<string> bootArguments, CancellationToken cancellationToken)
    {
        if (Environment.UserName != "root")
        {
            throw new CliException("--net tap:NAME makes a network namespace and a TAP interface: run as root");
        }
        if (ProcessRunner.Which("ip") is null)
        {
            throw new CliException("the 'ip' command is missing: apt-get install iproute2");
        }
        bool owns = existingNamespace is null;
        string ns = existingNamespace ?? $"unisharp-{Environment.ProcessId}";
        var (host, guest) = Addresses(bootArguments);
        if (!owns)
        {
            // The caller's namespace: its addresses are the caller's business.
            host = null;
        }
        var network = new GuestNetwork(ns, tap, owns, host, guest);
        try
        {
            if (owns)
            {
                await IpAsync(cancellationToken, "netns", "add", ns).ConfigureAwait(false);
                await IpAsync(cancellationToken, "-n", ns, "link", "set", "lo", "up").ConfigureAwait(false);
            }
            await IpAsync(cancellationToken, "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap").ConfigureAwait(false);
            // The host side would otherwise send IPv6 router solicitations and the like to the guest.
            await ProcessRunner.RunAsync("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", $"net.ipv6.conf.{tap}.disable_ipv6=1"], cancellationToken: cancellationToken).ConfigureAwait(false);
            if (host is not null)
            {
                await IpAsync(cancellationToken, "-n", ns, "addr", "add", host, "dev", tap).ConfigureAwait(false);
            }
            await IpAsync(cancellationToken, "-n", ns, "link", "set", tap, "up").ConfigureAwait(false);
        }
        catch
        {
            await network.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return network;
    }

    /// <summary>One line saying how to reach the guest from the host.</summary>
    public string Describe()
    {
        string where = $"TAP {Tap} in network namespace {Namespace}" + (HostAddress is null ? "" : $", host side {HostAddress}");
        if (!_ownsNamespace)
        {
            return $"network: {where} (given with --netns: no address was added)";
        }
        if (GuestAddress is not null && HostAddress is not null)
        {
            return $"network: {where}; reach the guest with: ip netns exec {Namespace} ping {GuestAddress}";
        }
        return GuestAddress is null
            ? $"network: {where}; the app has no --ipv4= boot argument (give it e.g. --ipv4=198.18.0.2/24 to reach it with: ip netns exec {Namespace} ping 198.18.0.2)"
            : $"network: {where}; the guest's {GuestAddress} is outside 198.18.0.0/15, so the host side has no address: add one with ip -n {Namespace} addr add ...";
    }

    /// <summary>The prefix of a command that runs inside the namespace.</summary>
    public IReadOnlyList<string> ExecPrefix => ["ip", "netns", "exec", Namespace];

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        // Deleting the namespace deletes the TAP in it; in a namespace we did not make, delete the TAP alone.
        string[] command = _ownsNamespace ? ["netns", "delete", Namespace] : ["-n", Namespace, "link", "delete", Tap];
        await ProcessRunner.RunAsync("ip", command).ConfigureAwait(false);
    }

    /// <summary>The TAP's address (guest's network, first free of .1 and .2) and the guest's, from <c>--ipv4=A.B.C.D/N</c>.</summary>
    internal static (string? Host, string? Guest) Addresses(IReadOnlyList<string> bootArguments)
    {
        string? value = bootArguments.LastOrDefault(a => a.StartsWith("--ipv4=", StringComparison.Ordinal))?["--ipv4=".Length..];
        if (value is null)
        {
            return ("198.18.0.1/24", null);
        }
        string[] parts = value.Split('/');
        if (!IPAddress.TryParse(parts[0], out var guest) || guest.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            return (null, null);
        }
        int prefix = parts.Length > 1 && int.TryParse(parts[1], CultureInfo.InvariantCulture, out int p) && p is >= 15 and <= 30 ? p : 24;
        uint address = ToUInt(guest);
        uint mask = uint.MaxValue << (32 - prefix);
        const uint Benchmarking = 198u << 24 | 18u << 16; // 198.18.0.0/15
        if ((address & 0xFFFE0000) != Benchmarking)
        {
            return (null, guest.ToString());
        }
        uint network = address & mask;
        uint host = network + 1 == address ? network + 2 : network + 1;
        return ($"{FromUInt(host)}/{prefix}", guest.ToString());
    }

    private static uint ToUInt(IPAddress address)
    {
        byte[] b = address.GetAddressBytes();
        return (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
    }

    private static string FromUInt(uint value) => $"{value >> 24}.{(value >> 16) & 0xFF}.{(value >> 8) & 0xFF}.{value & 0xFF}";

    private static async Task IpAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("ip", arguments, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new CliException($"ip {string.Join(' ', arguments)} failed: {result.Output.Trim()}");
        }
    }
}
