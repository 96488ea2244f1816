using System.Buffers;
using Unisharp.Devices;
using Unisharp.Devices.Middleware;
using Unisharp.Net;

namespace Unisharp.Simulation;

/// <summary>
/// A deterministic Ethernet network for tests: devices on one virtual switch, a virtual clock, and links that
/// lose, duplicate, reorder, delay and rate-limit frames from a seeded random source. The same seed and the
/// same nodes give the same run, frame for frame.
/// </summary>
/// <remarks>
/// <para>
/// Each step polls every node at <see cref="Now"/> (in the order they were added), hands the switch every
/// frame due by then (in order of arrival time, then of sending), and jumps to the earliest of the nodes'
/// deadlines, the next frame arrival and the next <see cref="SimulatedClock.SleepAsync"/> deadline. When a
/// step delivered frames, the next step runs at the same instant, so nodes see them at once.
/// </para>
/// <para>
/// The switch learns source addresses and forwards a unicast frame to the port that address was last seen
/// on; broadcast, multicast and frames to unknown addresses are flooded to every other port. Link
/// conditions apply on the way from the sending device to the switch.
/// </para>
/// <para>
/// Single-threaded: call it from one thread (only <see cref="SimulatedClock.SleepAsync"/> is safe from others).
/// While it runs, the thread has no <see cref="SynchronizationContext"/>, so continuations of tasks completed
/// inside a step run inline, in virtual time (unless their source asked for asynchronous continuations).
/// </para>
/// </remarks>
public sealed class SimulatedNetwork
{
    /// <summary>Bytes of capture kept in memory for <see cref="WritePcap"/>; later frames are not captured.</summary>
    public const long CaptureLimit = 256L * 1024 * 1024;

    private const int EthernetHeaderLength = 14;

    private static readonly long s_epochMicroseconds = SimulatedClock.Epoch.ToUnixTimeMilliseconds() * 1000;

    private readonly ulong _seed;
    private readonly SeededEntropy _random;
    private readonly List<SimulatedDevice> _devices = [];
    private readonly List<ISimulatedNode> _nodes = [];
    private readonly Dictionary<MacAddress, SimulatedDevice> _ports = [];
    private readonly PriorityQueue<InFlightFrame, EventKey> _inFlight = new();
    private readonly MemoryStream _capture = new();
    private readonly PcapWriter _captureWriter;
    private long _sequence;
    private ulong _entropyStreams;

    /// <param name="seed">Seeds every random choice the links make.</param>
    public SimulatedNetwork(ulong seed)
    {
        _seed = seed;
        _random = new SeededEntropy(seed);
        Clock = new SimulatedClock();
        _captureWriter = new PcapWriter(_capture, leaveOpen: true);
    }

    /// <summary>Virtual time: starts at <see cref="Instant.Zero"/> and moves only while the network runs.</summary>
    public Instant Now => Clock.Now;

    /// <summary>The clock to give nodes and stacks running in this network.</summary>
    public SimulatedClock Clock { get; }

    /// <summary>Frames put in a device's receive queue (a flooded frame counts once per port).</summary>
    public long FramesDelivered { get; private set; }

    /// <summary>Frames lost on a link, plus frames the switch could not deliver (runts, full or closed receive queues, too long for the port).</summary>
    public long FramesDropped { get; private set; }

    /// <summary>
    /// Steps without a frame delivered that one instant may take before the run is declared stuck
    /// (a node asking to be polled "now" forever); 10 000 unless changed.
    /// </summary>
    public int MaxIdleStepsPerInstant { get; set; } = 10_000;

    /// <summary>
    /// Steps one instant may take in all before the run is declared stuck (nodes answering each other
    /// without end at zero latency); 1 000 000 unless changed.
    /// </summary>
    public int MaxStepsPerInstant { get; set; } = 1_000_000;

    /// <summary>Called for every frame that reaches the switch, in order: a trace for tests (stalls, what was sent when).</summary>
    public FrameObserver? Observer { get; set; }

    /// <summary>The devices in the order they were added.</summary>
    public IReadOnlyList<SimulatedDevice> Devices => _devices;

    /// <summary>Plugs a new device into the switch.</summary>
    /// <param name="name">A name for logs.</param>
    /// <param name="mac">The device's address (the switch learns it from the frames it sends).</param>
    /// <param name="conditions">The link from the device to the switch; the default is perfect.</param>
    /// <param name="mtu">The device's MTU; frames longer than its <see cref="NetworkDeviceCapabilities.MaxFrameLength"/> are dropped on delivery.</param>
    public SimulatedDevice AddDevice(string name, MacAddress mac, LinkConditions conditions = default, int mtu = 1500)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(mtu, 68);
        var device = new SimulatedDevice(this, name, mac, conditions, mtu)
        {
            WireFreeAt = Now,
            LastArrival = Now,
        };
        _devices.Add(device);
        return device;
    }

    /// <summary>Adds a node to be polled each step, after the nodes added before it.</summary>
    public void AddNode(ISimulatedNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        _nodes.Add(node);
    }

    /// <summary>
    /// A new random source for a node (ISNs, ports, IDs), derived from the network's seed and the number of
    /// sources made before, so it is reproducible and independent of the links' random choices.
    /// </summary>
    public SeededEntropy CreateEntropy()
    {
        ulong stream = ++_entropyStreams;
        return new SeededEntropy(_seed ^ (stream * 0x9E3779B97F4A7C15UL));
    }

    /// <summary>Runs the network until virtual time reaches <paramref name="deadline"/>, processing every event due by then.</summary>
    /// <remarks>With <see cref="Instant.Never"/>, runs until nothing is left to do and leaves the time at the last event.</remarks>
    public void RunUntil(Instant deadline) => Run(deadline, null);

    /// <summary>
    /// Runs the network until <paramref name="condition"/> holds (checked before the first step and after each)
    /// or <paramref name="timeout"/> of virtual time has passed.
    /// </summary>
    /// <returns>True when the condition became true before <see cref="Now"/> plus <paramref name="timeout"/>.</returns>
    public bool RunUntil(Func<bool> condition, Duration timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return condition() || Run(Now + timeout, condition);
    }

    /// <summary>Writes every frame that reached the switch so far to a libpcap file, stamped with virtual time from <see cref="SimulatedClock.Epoch"/>.</summary>
    public void WritePcap(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _captureWriter.Flush();
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        file.Write(_capture.GetBuffer().AsSpan(0, (int)_capture.Length));
    }

    private bool Run(Instant deadline, Func<bool>? condition)
    {
        if (deadline < Now)
        {
            return condition?.Invoke() ?? false;
        }
        // Without a synchronization context (a test framework installs one), the continuations of tasks
        // completed during a step (sleepers, a stack's connect or read) run inline on this thread, at
        // this virtual instant, instead of later on the thread pool: the run stays deterministic.
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            return RunSteps(deadline, condition);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }

    private bool RunSteps(Instant deadline, Func<bool>? condition)
    {
        int steps = 0;
        int idleSteps = 0;
        while (true)
        {
            bool delivered = Step();
            if (condition is not null && condition())
            {
                return true;
            }
            Instant next = delivered ? Now : NextEvent();
            if (next > deadline || next == Instant.Never)
            {
                if (deadline != Instant.Never)
                {
                    Clock.AdvanceTo(deadline);
                }
                return false;
            }
            if (next > Now)
            {
                steps = 0;
                idleSteps = 0;
                Clock.AdvanceTo(next);
                continue;
            }
            idleSteps = delivered ? 0 : idleSteps + 1;
            if (idleSteps > MaxIdleStepsPerInstant)
            {
                throw new InvalidOperationException(
                    $"The simulation made no progress at {Now}: after {MaxIdleStepsPerInstant} steps without a frame delivered, a node still asks to be polled again at once.");
            }
            if (++steps > MaxStepsPerInstant)
            {
                throw new InvalidOperationException(
                    $"Virtual time stopped at {Now}: {MaxStepsPerInstant} steps delivered frames without time passing (nodes answering each other at zero latency without end?).");
            }
        }
    }

    /// <summary>Wakes due sleepers, polls every node, then delivers due frames; true when a frame was delivered.</summary>
    private bool Step()
    {
        Instant now = Now;
        Clock.WakeDueSleepers();
        // By index: a node may add another node while polled.
        for (int i = 0; i < _nodes.Count; i++)
        {
            _nodes[i].Poll(now);
        }
        bool delivered = false;
        while (_inFlight.TryPeek(out var frame, out var key) && key.Time <= now)
        {
            _inFlight.Dequeue();
            delivered |= Forward(frame);
        }
        return delivered;
    }

    private Instant NextEvent()
    {
        Instant now = Now;
        Instant next = Clock.NextDeadline;
        if (_inFlight.TryPeek(out _, out var key))
        {
            next = Instant.Min(next, key.Time);
        }
        for (int i = 0; i < _nodes.Count; i++)
        {
            next = Instant.Min(next, Instant.Max(_nodes[i].PollAt(now), now));
        }
        return next;
    }

    /// <summary>Puts a transmitted frame on the sender's link; takes the buffer. Returns when the frame has left the wire.</summary>
    internal Instant Send(SimulatedDevice source, byte[] buffer, int length)
    {
        var link = source.Conditions;
        Instant now = Now;
        Instant departs = now;
        if (link.BitsPerSecond > 0)
        {
            // Frames serialize one after another on the wire; a lost frame still used it.
            long micros = (length * 8L * 1_000_000 + link.BitsPerSecond - 1) / link.BitsPerSecond;
            departs = Instant.Max(now, source.WireFreeAt) + Duration.FromMicroseconds(micros);
            source.WireFreeAt = departs;
        }
        if (link.Loss > 0 && _random.NextDouble() < link.Loss)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            FramesDropped++;
            return departs;
        }
        Instant arrives = departs + link.Latency;
        if (link.Jitter > Duration.Zero)
        {
            long extra = (long)(_random.NextDouble() * (link.Jitter.Microseconds + 1));
            arrives += Duration.FromMicroseconds(extra);
        }
        // A link keeps frames in order: jitter never lets a frame pass the one before it.
        arrives = Instant.Max(arrives, source.LastArrival);
        if (link.Reorder > 0 && _random.NextDouble() < link.Reorder)
        {
            // Held back without moving LastArrival, so the frames sent next overtake it.
            arrives += Duration.Max(link.Latency, Duration.FromMilliseconds(1));
        }
        else
        {
            source.LastArrival = arrives;
        }
        bool duplicate = link.Duplicate > 0 && _random.NextDouble() < link.Duplicate;
        _inFlight.Enqueue(new InFlightFrame(source, buffer, length), new EventKey(arrives, _sequence++));
        if (duplicate)
        {
            byte[] copy = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
            buffer.AsSpan(0, length).CopyTo(copy);
            _inFlight.Enqueue(new InFlightFrame(source, copy, length), new EventKey(arrives, _sequence++));
        }
        return departs;
    }

    /// <summary>The switch: learns the source, forwards or floods. Takes the frame's buffer; true when delivered anywhere.</summary>
    private bool Forward(InFlightFrame frame)
    {
        var bytes = frame.Buffer.AsSpan(0, frame.Length);
        if (frame.Length < EthernetHeaderLength)
        {
            ArrayPool<byte>.Shared.Return(frame.Buffer);
            FramesDropped++;
            return false;
        }
        if (_capture.Length < CaptureLimit)
        {
            _captureWriter.WriteFrame(s_epochMicroseconds + Now.Microseconds, bytes);
        }
        Observer?.Invoke(Now, frame.Source, bytes);
        var destination = MacAddress.Read(bytes);
        var source = MacAddress.Read(bytes[6..]);
        if (source.IsUnicast)
        {
            _ports[source] = frame.Source;
        }
        if (destination.IsUnicast && _ports.TryGetValue(destination, out var port))
        {
            // A frame for the port it came from is filtered, as a real switch does.
            if (port == frame.Source || !port.Enqueue(frame.Buffer, frame.Length))
            {
                ArrayPool<byte>.Shared.Return(frame.Buffer);
                if (port != frame.Source)
                {
                    FramesDropped++;
                }
                return false;
            }
            FramesDelivered++;
            return true;
        }
        bool delivered = false;
        for (int i = 0; i < _devices.Count; i++)
        {
            var device = _devices[i];
            if (device == frame.Source || device.IsDisposed)
            {
                continue;
            }
            byte[] copy = ArrayPool<byte>.Shared.Rent(frame.Length);
            bytes.CopyTo(copy);
            if (device.Enqueue(copy, frame.Length))
            {
                FramesDelivered++;
                delivered = true;
            }
            else
            {
                ArrayPool<byte>.Shared.Return(copy);
                FramesDropped++;
            }
        }
        ArrayPool<byte>.Shared.Return(frame.Buffer);
        return delivered;
    }
}
