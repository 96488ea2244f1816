using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Net.Iface;

namespace Unisharp.Net;

/// <summary>
/// Unisharp's own TCP/IP stack over a raw Ethernet device: ARP, IPv4 (with fragmentation and
/// reassembly), ICMP echo and errors, UDP, TCP and a DHCP client.
/// </summary>
/// <remarks>
/// <see cref="Start(StackOptions)"/> runs the stack on one dedicated I/O thread that polls the interface and then
/// waits on the device until the next timer; <see cref="CreateManual"/> runs nothing by itself, so a
/// simulator can drive it with <see cref="Poll"/> and <see cref="PollAt"/> in virtual time.
/// </remarks>
public sealed class DirectStack : IStack
{
    /// <summary>The longest the I/O thread sleeps in the device without a timer due, as a safety net.</summary>
    private static readonly Duration s_maxWait = Duration.FromSeconds(1);
    // How long a stopping stack goes on for connections the app has closed, to deliver what they hold and their FIN
    // (a stopping server's last responses); the rest are cut off.
    private static readonly Duration s_closeDrain = Duration.FromSeconds(1);

    private readonly StackOptions _options;
    private readonly NetworkInterface _iface;
    private readonly DirectUdp _udp;
    private readonly DirectTcp _tcp;
    private readonly Dns.DnsResolver _dns;
    private readonly Thread? _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _addressLock = new();
    private TaskCompletionSource _addressReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;
    private int _disposed;
    // Wake-ups from app threads: one device wake per poll at most, and none while the I/O thread is not asleep (it
    // checks _wakePending before it waits). Both flags are set with full fences, so one side always sees the other.
    private int _wakePending;
    private int _sleeping;

    private DirectStack(StackOptions options, bool threaded, Tcp.TcpSettings? tcpSettings = null)
    {
        _options = options;
        _iface = new NetworkInterface(options.Device, options.Entropy, options.Log, options.Ip, options.Clock.Now)
        {
            AddressChanged = OnAddressChanged,
        };
        if (_iface.Address is not null)
        {
            _addressReady.TrySetResult();
        }
        _iface.Udp.AsynchronousContinuations = threaded;
        _udp = new DirectUdp(this);
        var tcp = new Tcp.TcpLayer(_iface, options.Log, tcpSettings) { AsynchronousContinuations = threaded && tcpSettings?.InlineContinuations != true };
        _iface.RegisterProtocol(tcp);
        _tcp = new DirectTcp(this, tcp);
        // --dns wins over DHCP's option 6, which may arrive (or change) after the stack starts.
        var dnsServer = options.Ip.DnsServer;
        _dns = new Dns.DnsResolver(this, options.Clock, options.Entropy, () => dnsServer ?? _iface.Dhcp?.DnsServer, options.Log);
        if (threaded)
        {
            _thread = new Thread(Run) { IsBackground = true, Name = $"unisharp-net-{options.Device.Name}" };
        }
        options.Log.Debug("net", $"direct stack on {options.Device.Name} ({options.Device.MacAddress}, MTU {options.Device.Capabilities.Mtu}){(threaded ? "" : ", polled by the caller")}");
    }

    /// <summary>Builds the stack and starts its I/O thread.</summary>
    public static DirectStack Start(StackOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var stack = options.Tcp is { } tcp
            ? new DirectStack(options, threaded: true, Unisharp.Net.Tcp.TcpSettings.From(tcp))
            : new DirectStack(options, threaded: true);
        stack._thread!.Start();
        return stack;
    }

    /// <summary>Builds the stack with the app's TCP settings and starts its I/O thread.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A TCP option is out of range.</exception>
    public static DirectStack Start(StackOptions options, TcpOptions tcp)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tcp);
        var stack = new DirectStack(options, threaded: true, Unisharp.Net.Tcp.TcpSettings.From(tcp));
        stack._thread!.Start();
        return stack;
    }

    /// <summary>Builds the stack without a thread: the caller drives it with <see cref="Poll"/> at <see cref="PollAt"/>.</summary>
    public static DirectStack CreateManual(StackOptions options, TcpOptions? tcp = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new DirectStack(options, threaded: false, (tcp ?? options.Tcp) is { } settings ? Unisharp.Net.Tcp.TcpSettings.From(settings) : null);
    }

    /// <summary>Builds a manual stack with TCP limits and timers other than the defaults (tests, simulations).</summary>
    internal static DirectStack CreateManualWithTcp(StackOptions options, Tcp.TcpSettings tcpSettings)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new DirectStack(options, threaded: false, tcpSettings);
    }

    /// <summary>TCP listeners and connections.</summary>
    public ITcp Tcp => _tcp;

    /// <summary>UDP sockets; sending before the stack has an address fails with <see cref="NetworkError.HostUnreachable"/>.</summary>
    public IUdp Udp => _udp;

    /// <summary>A stub resolver over this stack asking the server of <c>--dns</c>, or else DHCP's.</summary>
    public IDnsResolver Dns => _dns;

    internal Dns.DnsResolver Resolver => _dns;

    /// <summary>The configured or leased address; <see cref="Ipv4Address.Any"/> while DHCP has none.</summary>
    public Ipv4Address Address => _iface.Address?.Address ?? Ipv4Address.Any;

    /// <summary>The address with its prefix, or null while DHCP has none.</summary>
    public Ipv4Cidr? Cidr => _iface.Address?.Cidr;

    /// <summary>The router for off-link destinations, if there is one.</summary>
    public Ipv4Address? Gateway => _iface.Address?.Gateway;

    /// <summary>The device's MAC address.</summary>
    public MacAddress MacAddress => _iface.MacAddress;

    /// <summary>TCP segments received and sent (a large offloaded segment counts once).</summary>
    public TcpSegmentCounts? TcpSegments
    {
        get
        {
            var layer = _tcp.Layer;
            lock (layer.Lock)
            {
                return new TcpSegmentCounts(layer.Stats.SegmentsReceived, layer.Stats.SegmentsSent);
            }
        }
    }

    /// <summary>Frames in and out and drops by reason.</summary>
    public NetworkStatistics Stats => _iface.Stats;

    internal NetworkInterface Interface => _iface;

    internal Tcp.TcpLayer TcpLayer => _tcp.Layer;

    internal bool IsThreaded => _thread is not null;

    /// <summary>The stack's clock: real time on a threaded stack, the simulator's on a manual one.</summary>
    internal IClock Clock => _options.Clock;

    /// <summary>Receives pending frames, runs due timers and transmits (manual stacks only).</summary>
    /// <exception cref="InvalidOperationException">The stack runs its own I/O thread.</exception>
    public void Poll(Instant now)
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException("this stack polls itself on its I/O thread; use CreateManual to drive it");
        }
        _iface.Poll(now);
    }

    /// <summary>When <see cref="Poll"/> must next run if no frame arrives; <see cref="Instant.Never"/> when nothing is due.</summary>
    public Instant PollAt(Instant now) => _iface.PollAt(now);

    /// <summary>Completes once the stack has an address (at once for a static one; after DHCP's ACK otherwise).</summary>
    public Task WaitForAddressAsync(CancellationToken cancellationToken = default)
    {
        Task ready;
        lock (_addressLock)
        {
            ready = _addressReady.Task;
        }
        return ready.WaitAsync(cancellationToken);
    }

    /// <summary>Stops the I/O thread and closes every socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stopping = true;
        if (_thread is not null)
        {
            _options.Device.Wake();
            await _stopped.Task.ConfigureAwait(false);
        }
        else
        {
            _iface.Udp.CloseAll();
            _tcp.Layer.CloseAll();
        }
        _options.Log.Debug("net", $"direct stack on {_options.Device.Name} stopped: {_iface.Stats}");
    }

    /// <summary>Asks the I/O thread to poll soon (an app queued data from another thread).</summary>
    internal void Wake()
    {
        if (_thread is not null && Interlocked.Exchange(ref _wakePending, 1) == 0 && Volatile.Read(ref _sleeping) != 0)
        {
            _options.Device.Wake();
        }
    }

    internal void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw new NetworkException(NetworkError.Closed, "the stack is stopped");
        }
    }

    private void Run()
    {
        var clock = _options.Clock;
        try
        {
            var drainUntil = Instant.Never;
            while (true)
            {
                if (_stopping)
                {
                    if (drainUntil == Instant.Never)
                    {
                        drainUntil = clock.Now + s_closeDrain;
                    }
                    if (clock.Now >= drainUntil || !_tcp.Layer.HasClosesUnderWay())
                    {
                        break;
                    }
                }
                // Wakes asked for from here on need another poll; those before are served by this one.
                Interlocked.Exchange(ref _wakePending, 0);
                _iface.Poll(clock.Now);
                var now = clock.Now;
                var next = Instant.Min(_iface.PollAt(now), drainUntil);
                var wait = next == Instant.Never ? s_maxWait : Duration.Min(next - now, s_maxWait);
                if (wait > Duration.Zero && (!_stopping || drainUntil != Instant.Never))
                {
                    Interlocked.Exchange(ref _sleeping, 1);
                    if (Volatile.Read(ref _wakePending) == 0)
                    {
                        _options.Device.WaitForFrame(wait.ToTimeSpan());
                    }
                    Volatile.Write(ref _sleeping, 0);
                }
            }
        }
        catch (Exception e)
        {
            _options.Log.Error("net", $"the I/O loop on {_options.Device.Name} failed: {e.GetType().Name}: {e.Message}");
            _options.Log.Debug("net", e.ToString());
        }
        finally
        {
            _iface.Udp.CloseAll();
            _tcp.Layer.CloseAll();
            _stopped.TrySetResult();
        }
    }

    private void OnAddressChanged(InterfaceAddress? address)
    {
        lock (_addressLock)
        {
            if (address is not null)
            {
                _addressReady.TrySetResult();
            }
            else if (_addressReady.Task.IsCompleted)
            {
                _addressReady = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }
}
