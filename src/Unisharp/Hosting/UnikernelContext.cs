using Unisharp.Devices;
using Unisharp.Logging;
using Unisharp.Net;

namespace Unisharp.Hosting;

/// <summary>Everything a running app is given: its devices, its boot arguments, a log and a stop signal.</summary>
public sealed class UnikernelContext
{
    private readonly TargetDevices _devices;
    private readonly IStack? _stack;

    internal UnikernelContext(string targetName, TargetDevices devices, IStack? stack, BootArguments arguments, Logger log, CancellationToken stopping,
        TimeSpan stopGracePeriod)
    {
        TargetName = targetName;
        _devices = devices;
        _stack = stack;
        Arguments = arguments;
        Log = log;
        Stopping = stopping;
        StopGracePeriod = stopGracePeriod;
    }

    /// <summary>The target this image was built for; for logs only: apps must not behave differently by target.</summary>
    public string TargetName { get; }

    public IClock Clock => _devices.Clock;
    public IEntropy Entropy => _devices.Entropy;
    public IConsole Console => _devices.Console;
    public Logger Log { get; }
    public BootArguments Arguments { get; }

    /// <summary>Cancelled when the unikernel is asked to stop (Ctrl-C, SIGTERM, power button).</summary>
    public CancellationToken Stopping { get; }

    /// <summary>
    /// How long the app has, once <see cref="Stopping"/> is cancelled, before the unikernel exits without it
    /// (<see cref="UnikernelBuilder.StopGracePeriod"/>); the app's own shutdown deadlines derive from it.
    /// </summary>
    public TimeSpan StopGracePeriod { get; }

    /// <summary>The TCP/IP stack; the app must have called <see cref="UnikernelBuilder.UseStack()"/>.</summary>
    public IStack Stack => _stack ?? throw new InvalidOperationException("the app did not ask for a network stack: call UseStack() on the builder");

    /// <summary>
    /// Name resolution over the stack: DNS to the server of the <c>--dns</c> boot argument or DHCP's on our stack,
    /// the host's resolver on host sockets. The app must have called <see cref="UnikernelBuilder.UseStack()"/>.
    /// </summary>
    public IDnsResolver Dns => Stack.Dns ?? throw new InvalidOperationException("this stack has no name resolver");

    /// <summary>
    /// An <see cref="HttpClient"/> whose connections go over the stack's TCP, host names resolved by <see cref="Dns"/>.
    /// HTTPS works as usual (TLS runs over the connection). The caller disposes it; keep one for the app's lifetime.
    /// </summary>
    public HttpClient CreateHttpClient() => new(StackHttpHandler.Create(Stack), disposeHandler: true);

    /// <summary>
    /// As <see cref="CreateHttpClient()"/>, with the handler adjusted first by <paramref name="configure"/> (TLS options such
    /// as a private CA in <see cref="SocketsHttpHandler.SslOptions"/>, timeouts, pool limits). Its connect callback is ours.
    /// </summary>
    public HttpClient CreateHttpClient(Action<SocketsHttpHandler> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var handler = StackHttpHandler.Create(Stack);
        configure(handler);
        return new HttpClient(handler, disposeHandler: true);
    }

    /// <summary>The Ethernet device; the app must have called <see cref="UnikernelBuilder.UseNetworkDevice"/>.</summary>
    public INetworkDevice NetworkDevice => _devices.Network ?? throw new InvalidOperationException("the app did not ask for a network device: call UseNetworkDevice() on the builder");

    /// <summary>The block device named <paramref name="name"/>; the app must have called <see cref="UnikernelBuilder.UseBlock"/>.</summary>
    public IBlockDevice Block(string name) =>
        _devices.Disks.TryGetValue(name, out var disk) ? disk : throw new InvalidOperationException($"the app did not ask for block device '{name}': call UseBlock(\"{name}\") on the builder");

    /// <summary>The value of a boot argument declared on the builder.</summary>
    public T Get<T>(BootArgument<T> argument) => Arguments.Get(argument);
}
