using System.Runtime.InteropServices;
using Unisharp.Logging;
using Unisharp.Net;

namespace Unisharp.Hosting;

/// <summary>
/// Declares what an app needs (boot arguments, a stack, raw frames, disks) and runs it: parses the command
/// line, opens the devices through the target, calls the app, closes everything and returns the exit code.
/// </summary>
public sealed class UnikernelBuilder
{
    /// <summary>Exit code for a bad command line (as cmdliner and sysexits' EX_USAGE family do).</summary>
    public const int UsageExitCode = 2;

    /// <summary>Exit code after SIGINT stopped the app (128 + 2, as a shell reports it).</summary>
    public const int SigIntExitCode = 130;

    /// <summary>Exit code after SIGTERM stopped the app (128 + 15).</summary>
    public const int SigTermExitCode = 143;

    private readonly string[] _args;
    private readonly UnikernelTarget? _target;
    private readonly List<BootArgument> _arguments = [];
    private readonly List<string> _disks = [];
    private readonly Dictionary<string, string> _diskDescriptions = new(StringComparer.Ordinal);
    private readonly BootArgument<string> _logLevel =
        BootArgument.String("log-level", "info", "Lowest level of log lines shown: debug, info, warning, error or quiet.");
    private BootArgument<Ipv4Cidr?>? _ipv4;
    private BootArgument<Ipv4Address?>? _gateway;
    private BootArgument<bool>? _dhcp;
    private BootArgument<Ipv4Address?>? _dns;
    private BootArgument<Ipv6Cidr?>? _ipv6;
    private BootArgument<Ipv6Address?>? _ipv6Gateway;
    private BootArgument<bool>? _ipv6Autoconf;
    private bool _stack;
    private bool _networkDevice;
    private TcpOptions? _tcp;

    internal UnikernelBuilder(string[] args, string name, UnikernelTarget? target)
    {
        _args = args;
        Name = name;
        _target = target;
        _arguments.Add(_logLevel);
    }

    public string Name { get; }

    /// <summary>
    /// How long the app has to finish after a stop signal before the unikernel exits anyway; 5 s by default. It is the
    /// one shutdown setting: the app sees it as <see cref="UnikernelContext.StopGracePeriod"/>, and ASP.NET Core's
    /// shutdown timeout on our stack (<c>UseUnisharp</c>) is taken from it.
    /// </summary>
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Declares a boot argument; read its value with <see cref="UnikernelContext.Get{T}"/>.</summary>
    public BootArgument<T> Argument<T>(BootArgument<T> argument)
    {
        _arguments.Add(argument);
        return argument;
    }

    /// <summary>The app uses TCP and UDP; adds the stack's boot arguments (<c>--ipv4</c>, <c>--ipv4-gateway</c>, <c>--dhcp</c>, <c>--dns</c>, <c>--ipv6</c>, <c>--ipv6-gateway</c>, <c>--ipv6-autoconf</c>).</summary>
    public UnikernelBuilder UseStack()
    {
        if (!_stack)
        {
            _stack = true;
            _ipv4 = Argument(BootArgument.Ipv4Cidr("ipv4", "The stack's address and prefix, e.g. 198.18.0.2/24; DHCP when not given."));
            _gateway = Argument(BootArgument.Ipv4Address("ipv4-gateway", "The router for destinations off the local network."));
            _dhcp = Argument(BootArgument.Bool("dhcp", false, "Get the address by DHCP (the default when --ipv4 is not given)."));
            _dns = Argument(BootArgument.Ipv4Address("dns", "The DNS server names are resolved with; DHCP's when not given."));
            _ipv6 = Argument(BootArgument.Optional<Ipv6Cidr>("ipv6", "A static IPv6 address and prefix, e.g. fd00:198:18::2/64 (besides link-local and SLAAC).", "ADDR/LEN"));
            _ipv6Gateway = Argument(BootArgument.Optional<Ipv6Address>("ipv6-gateway", "The IPv6 router for destinations off the local network.", "ADDR"));
            _ipv6Autoconf = Argument(BootArgument.Bool("ipv6-autoconf", true, "An IPv6 link-local address and SLAAC from router advertisements; false (without --ipv6) turns IPv6 off."));
        }
        return this;
    }

    /// <summary>As <see cref="UseStack()"/>, with the app's TCP settings (buffer sizes, no-delay, keep-alive, congestion control).</summary>
    public UnikernelBuilder UseStack(TcpOptions tcp)
    {
        ArgumentNullException.ThrowIfNull(tcp);
        _tcp = tcp;
        return UseStack();
    }

    /// <summary>The app sends and receives raw Ethernet frames itself.</summary>
    public UnikernelBuilder UseNetworkDevice()
    {
        _networkDevice = true;
        return this;
    }

    /// <summary>The app opens the block device <paramref name="name"/> (given as <c>--disk NAME=PATH</c> on <c>unix</c>).</summary>
    /// <param name="description">What the app does with the disk, for <c>--help</c>.</param>
    public UnikernelBuilder UseBlock(string name, string? description = null)
    {
        if (!_disks.Contains(name))
        {
            _disks.Add(name);
        }
        if (description is not null)
        {
            _diskDescriptions[name] = description;
        }
        return this;
    }

    /// <summary>Runs the app to completion and returns the process's exit code (0 when the app returned).</summary>
    public int Run(Func<UnikernelContext, Task> app) => RunAsync(async ctx => { await app(ctx).ConfigureAwait(false); return 0; }).GetAwaiter().GetResult();

    /// <summary>Runs an app that chooses its own exit code.</summary>
    public int Run(Func<UnikernelContext, Task<int>> app) => RunAsync(app).GetAwaiter().GetResult();

    public async Task<int> RunAsync(Func<UnikernelContext, Task<int>> app)
    {
        if (_target is null)
        {
            await Console.Error.WriteLineAsync($"{Name}: error: no target is linked into this app; build it with 'unisharp build -t unix' (or set UnisharpTarget)").ConfigureAwait(false);
            return UsageExitCode;
        }
        BootArguments arguments;
        try
        {
            var bootArgs = _target.TakeDeviceOptions(_args);
            if (bootArgs.Any(a => a is "--help" or "-h" or "-help"))
            {
                WriteHelp(Console.Out);
                return 0;
            }
            arguments = BootArguments.Parse(_arguments, bootArgs);
            if (!Logger.TryParseLevel(arguments.Get(_logLevel), out _))
            {
                throw new BootArgumentException($"invalid value '{arguments.Get(_logLevel)}' for --log-level: expected debug, info, warning, error or quiet");
            }
        }
        catch (BootArgumentException e)
        {
            await Console.Error.WriteLineAsync($"{Name}: error: {e.Message} (see --help)").ConfigureAwait(false);
            return UsageExitCode;
        }

        Logger.TryParseLevel(arguments.Get(_logLevel), out var level);
        var log = new Logger(level);
        var ip = _stack
            ? new IpConfiguration(arguments.Get(_ipv4!), arguments.Get(_gateway!), arguments.Get(_dhcp!) || arguments.Get(_ipv4!) is null, arguments.Get(_dns!),
                arguments.Get(_ipv6!), arguments.Get(_ipv6Gateway!), arguments.Get(_ipv6Autoconf!))
            : default;
        using var stop = new CancellationTokenSource();
        // The shell's convention for a process ended by a signal, 128 + its number, once the app has stopped cleanly.
        int stoppedCode = 0;
        void RequestStop(PosixSignalContext c, string signal, int code)
        {
            c.Cancel = true;
            if (Interlocked.CompareExchange(ref stoppedCode, code, 0) == 0)
            {
                log.Info("host", $"{signal}: stopping");
                stop.Cancel();
            }
        }
        bool signals = _target.StopsOnSignals;
        using var sigint = signals ? PosixSignalRegistration.Create(PosixSignal.SIGINT, c => RequestStop(c, "SIGINT", SigIntExitCode)) : null;
        using var sigterm = signals ? PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => RequestStop(c, "SIGTERM", SigTermExitCode)) : null;

        TargetDevices devices;
        try
        {
            devices = await _target.OpenAsync(new DeviceRequest { Stack = _stack, NetworkDevice = _networkDevice, Disks = _disks, Ip = ip, Log = log, Tcp = _tcp }, stop.Token).ConfigureAwait(false);
        }
        catch (BootArgumentException e)
        {
            await Console.Error.WriteLineAsync($"{Name}: error: {e.Message} (see --help)").ConfigureAwait(false);
            return UsageExitCode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            log.Error("host", $"could not open the devices: {e.Message}");
            return 1;
        }

        await using (devices.ConfigureAwait(false))
        {
            IStack? stack = devices.Stack;
            if (_stack && stack is null)
            {
                if (devices.Network is null || Unikernel.StackFactory is null)
                {
                    log.Error("host", "the app needs a network stack, but this image has none for the network device it was given; use --net socket");
                    return 1;
                }
                stack = Unikernel.StackFactory(new StackOptions { Device = devices.Network, Clock = devices.Clock, Entropy = devices.Entropy, Ip = ip, Log = log, Tcp = _tcp });
                devices.Own(stack);
            }
            log.Debug("host", $"{Name} starting on target {_target.Name}");
            var context = new UnikernelContext(_target.Name, devices, stack, arguments, log, stop.Token, StopGracePeriod);
            Task<int> running = Task.Run(() => app(context));
            try
            {
                int code = await WaitAsync(running, stop.Token, log).ConfigureAwait(false);
                if (stoppedCode == 0 || code != 0)
                {
                    return code;
                }
                log.Info("host", "stopped");
                return stoppedCode;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                log.Info("host", "stopped");
                return stoppedCode;
            }
            catch (Exception e)
            {
                log.Error("host", $"the app failed: {e.GetType().Name}: {e.Message}");
                log.Debug("host", e.ToString());
                return 1;
            }
        }
    }

    private async Task<int> WaitAsync(Task<int> running, CancellationToken stopping, Logger log)
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = stopping.Register(() => stopped.TrySetResult()).ConfigureAwait(false);
        if (await Task.WhenAny(running, stopped.Task).ConfigureAwait(false) == running)
        {
            return await running.ConfigureAwait(false);
        }
        // Asked to stop: give the app its grace period to wind down on the Stopping token.
        if (await Task.WhenAny(running, Task.Delay(StopGracePeriod, CancellationToken.None)).ConfigureAwait(false) == running)
        {
            // The app's own code, or the signal's when it ended by cancellation.
            return await running.ConfigureAwait(false);
        }
        log.Warning("host", $"the app did not stop within {StopGracePeriod.TotalSeconds:0.#} s; exiting anyway");
        return 0;
    }

    /// <summary>Writes the usage: device options of the target, then every declared boot argument.</summary>
    public void WriteHelp(TextWriter writer)
    {
        writer.WriteLine($"Usage: {Name} [device options] [boot arguments]");
        writer.WriteLine();
        writer.WriteLine($"{Name}: a Unisharp unikernel built for the '{_target?.Name ?? "none"}' target.");
        if (_target is { DeviceOptions.Count: > 0 })
        {
            writer.WriteLine();
            writer.WriteLine("Device options:");
            WriteRows(writer, _target.DeviceOptions.Select(o => (o.Usage, o.Description)));
        }
        if (_disks.Count > 0)
        {
            writer.WriteLine();
            writer.WriteLine("Disks (each given as --disk NAME=PATH):");
            WriteRows(writer, _disks.Select(d => (d, _diskDescriptions.GetValueOrDefault(d, ""))));
        }
        writer.WriteLine();
        writer.WriteLine("Boot arguments:");
        WriteRows(writer, _arguments.Select(a =>
            ($"--{a.Name}={a.TypeName}", a.DefaultText is null ? a.Description : $"{a.Description} [default: {a.DefaultText}]")));
        writer.WriteLine("  --help                  Show this help and exit.");
    }

    private static void WriteRows(TextWriter writer, IEnumerable<(string Left, string Right)> rows)
    {
        foreach (var (left, right) in rows)
        {
            writer.WriteLine(left.Length < 22 ? $"  {left,-22}  {right}" : $"  {left}\n  {"",-22}  {right}");
        }
    }
}
