using System.Buffers.Binary;
using Unisharp.Logging;
using Unisharp.Net.Iface;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Tcp;

/// <summary>
/// TCP above the interface's IPv4: demultiplexes segments to connections and listeners, answers strays with
/// resets, bounds half-open, TIME-WAIT and buffer memory, and polls the connections that have work: those touched since
/// the last poll (a segment, an app call) and those whose timer is due (a heap ordered by deadline), never every
/// connection. One lock guards it all; app-facing adapters take the same lock. Changes the app waits for are
/// signalled after the lock is released.
/// </summary>
internal sealed class TcpLayer : IIpv4Protocol, ITcpSegmentSink
{
    private const ushort FirstEphemeralPort = 49152;
    private const string Source = "tcp";

    private readonly NetworkInterface _iface;
    private readonly Logger _log;
    private readonly Dictionary<TcpConnectionKey, TcpSocket> _sockets = [];
    private readonly Dictionary<ushort, TcpListenerCore> _listeners = [];
    private readonly Queue<TcpSocket> _timeWaitOrder = new();
    private readonly List<TcpSocket> _closed = [];
    // Connections to poll at the next poll (touched since the last), and the others' next deadlines: an entry is live
    // while it matches its socket's ScheduledAt; the rest are skipped when they surface (or dropped by a rebuild).
    private readonly List<TcpSocket> _due = [];
    private readonly PriorityQueue<TcpSocket, Instant> _timers = new();
    private readonly Queue<TcpSocket> _notifySockets = new();
    private readonly Queue<TcpListenerCore> _notifyListeners = new();
    private readonly ulong _isnKey0;
    private readonly ulong _isnKey1;
    private readonly ulong _tsKey;
    // RFC 5961 §7: challenge ACKs are rate limited, so they cannot be turned into an amplifier (100 per second).
    private readonly Ip.TokenBucket _challengeAcks = new(100, Duration.FromMilliseconds(10));
    // Resets for segments without a connection, likewise (RFC 9293 §3.10.7.1 leaves the rate to the host): 4000 per
    // second with a burst of 2000, so a scan of a few thousand closed ports gets its answers at once (Linux limits none).
    private readonly Ip.TokenBucket _resets = new(2000, Duration.FromMicroseconds(250));
    private readonly TcpSynCookies _cookies;
    // Rings of closed connections for the next ones: up to half the buffer budget.
    private readonly TcpBufferPool _buffers;
    // Cookies are checked only until two cookie periods after the last one went out (an ACK cannot return one later).
    private Instant _cookiesUntil = Instant.Zero;
    private ushort _nextEphemeral;
    private int _halfOpen;
    private int _timeWait;
    private Instant _now;

    public TcpLayer(NetworkInterface iface, Logger log, TcpSettings? settings = null)
    {
        _iface = iface;
        _log = log;
        Settings = settings ?? new TcpSettings();
        _buffers = new TcpBufferPool(Settings.MaxBufferBytes / 2);
        // RFC 6528 §3: the secret of the ISN function, from the injected random source.
        Span<byte> secret = stackalloc byte[26];
        iface.Entropy.Fill(secret);
        _isnKey0 = BinaryPrimitives.ReadUInt64LittleEndian(secret);
        _isnKey1 = BinaryPrimitives.ReadUInt64LittleEndian(secret[8..]);
        _tsKey = BinaryPrimitives.ReadUInt64LittleEndian(secret[16..]);
        _cookies = new TcpSynCookies(_tsKey ^ _isnKey1, _isnKey0 ^ 0x5a5a5a5a5a5a5a5aUL);
        _nextEphemeral = (ushort)(FirstEphemeralPort + BinaryPrimitives.ReadUInt16LittleEndian(secret[24..]) % (65536 - FirstEphemeralPort));
    }

    public IpProtocol Protocol => IpProtocol.Tcp;

    public Lock Lock { get; } = new();

    public TcpSettings Settings { get; }

    public TcpStatistics Stats { get; } = new();

    /// <summary>Connections in the table, in every state but CLOSED (TIME-WAIT included).</summary>
    public int ConnectionCount
    {
        get
        {
            lock (Lock)
            {
                return _sockets.Count;
            }
        }
    }

    public int HalfOpenCount => _halfOpen;

    public int TimeWaitCount => _timeWait;

    /// <summary>Bytes of send and receive buffers held by connections now.</summary>
    public long BufferBytes { get; private set; }

    /// <summary>True for continuations that must not run on the polling thread (a threaded stack).</summary>
    public bool AsynchronousContinuations { get; init; }

    Span<byte> ITcpSegmentSink.SegmentBuffer => _iface.TransmitPayload;

    bool ITcpSegmentSink.PartialChecksum => _iface.ChecksumOffload;

    void ITcpSegmentSink.Send(Ipv4Address destination, int length, int segmentSize, Instant now) =>
        _iface.SendIp(destination, IpProtocol.Tcp, length, now,
            checksumOffset: _iface.ChecksumOffload ? TcpPacket.ChecksumOffset : -1, segmentSize: segmentSize);

    public TaskCompletionSource NewWaiter() =>
        new(AsynchronousContinuations ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None);

    public void Process(in Ipv4Repr ip, Span<byte> payload, bool checksumTrusted, Instant now)
    {
        lock (Lock)
        {
            _now = now;
            ProcessLocked(ip, payload, checksumTrusted, now);
        }
    }

    private void ProcessLocked(in Ipv4Repr ip, Span<byte> payload, bool checksumTrusted, Instant now)
    {
        var error = TcpRepr.TryParse(payload, ip.Source, ip.Destination, out var seg, out var data, !checksumTrusted);
        if (error != WireError.None)
        {
            if (error == WireError.BadChecksum)
            {
                Stats.BadChecksums++;
            }
            else
            {
                Stats.MalformedSegments++;
            }
            return;
        }
        var address = _iface.Address;
        // RFC 9293 §3.9.1 and RFC 1122 §4.2.3.10: TCP is unicast only, to us and from a unicast source (a SYN "from"
        // a broadcast or multicast address would have our answers go to everyone).
        if (address is null || ip.Destination != address.Address)
        {
            Stats.MalformedSegments++;
            return;
        }
        if (ip.Source.IsBroadcast || ip.Source.IsMulticast || ip.Source.IsUnspecified || address.IsBroadcast(ip.Source))
        {
            Stats.NonUnicastSourceDropped++;
            return;
        }
        Stats.SegmentsReceived++;
        var key = new TcpConnectionKey(seg.DestinationPort, ip.Source, seg.SourcePort);
        var local = new Ipv4Endpoint(ip.Destination, seg.DestinationPort);
        var remote = new Ipv4Endpoint(ip.Source, seg.SourcePort);
        if (_sockets.TryGetValue(key, out var socket))
        {
            // RFC 1122 §4.2.2.13: a new SYN for a connection in TIME-WAIT may reopen it when its sequence number is
            // beyond the old connection's, so no old duplicate can be taken for new data.
            if (socket.State == TcpState.TimeWait && seg.Has(TcpFlags.Syn) && !seg.Has(TcpFlags.Ack)
                && seg.SequenceNumber > socket.ReceiveNext && _listeners.ContainsKey(seg.DestinationPort))
            {
                socket.Terminate(null);
                Remove(socket);
            }
            else
            {
                socket.Process(seg, data, now);
                Touch(socket);
                return;
            }
        }
        if (seg.Has(TcpFlags.Rst))
        {
            return;
        }
        if (_listeners.TryGetValue(seg.DestinationPort, out var listener))
        {
            if (seg.Has(TcpFlags.Syn) && !seg.Has(TcpFlags.Ack))
            {
                OnSyn(listener, seg, local, remote, now);
                return;
            }
            if (!seg.Has(TcpFlags.Ack))
            {
                // RFC 9293 §3.10.7.2: in LISTEN, a segment with neither SYN nor ACK (a NULL or "Xmas" scan) is dropped.
                Stats.ListenerSegmentsDropped++;
                return;
            }
            if (!seg.Has(TcpFlags.Syn) && now < _cookiesUntil)
            {
                // While cookies may be out, an ACK whose cookie does not check out is dropped, not reset (as Linux
                // does): when the handshake's ACK and the first data were lost (a flood fills the device's queue), a
                // later segment's sequence number no longer gives the peer's ISN, and the peer's retransmission of its
                // first segment will.
                OnCookieAck(listener, seg, data, local, remote, now);
                return;
            }
        }
        // RFC 9293 §3.10.7.1: no connection here, so a reset that the sender will accept.
        if (!_resets.TryTake(now))
        {
            Stats.ResetsRateLimited++;
        }
        else if (seg.Has(TcpFlags.Ack))
        {
            SendReset(local, remote, seg.AckNumber, default, TcpFlags.Rst, now);
        }
        else
        {
            SendReset(local, remote, default, seg.SequenceNumber + seg.SegmentLength, TcpFlags.Rst | TcpFlags.Ack, now);
        }
    }

    /// <summary>A SYN for a listener: a new half-open connection, within the listener's backlog and the global bound.</summary>
    private void OnSyn(TcpListenerCore listener, in TcpRepr syn, Ipv4Endpoint local, Ipv4Endpoint remote, Instant now)
    {
        if (listener.Accepted.Count >= listener.Backlog || !BuffersFit())
        {
            // Like Linux with a full accept queue: stay silent; the peer will retry. Likewise when the buffer budget
            // is spent: refusing the SYN is better than a reset after the handshake.
            Stats.SynsDropped++;
            return;
        }
        if (_halfOpen >= Settings.MaxHalfOpen)
        {
            // SYN flood defence (RFC 4987 §3.6): no state for this one; the ACK will bring back what we need.
            SendSynCookie(syn, local, remote, now);
            return;
        }
        var socket = new TcpSocket(this, Settings, local, remote, _iface.Mtu, _iface.MaxOffloadSegment) { Listener = listener };
        socket.Accept(syn, Isn(local, remote, now), TimestampOffset(local, remote), now);
        _sockets.Add(new TcpConnectionKey(local.Port, remote.Address, remote.Port), socket);
        Touch(socket);
        _halfOpen++;
        listener.HalfOpen++;
    }

    /// <summary>A passive open finished its handshake: buffers, then the accept queue. False when it was refused.</summary>
    public bool OnPassiveEstablished(TcpSocket socket)
    {
        var listener = socket.Listener;
        if (listener is not null && !listener.IsClosed && !BuffersFit())
        {
            // No memory for it now: stay in SYN-RECEIVED, silent (the peer resends; our SYN-ACK timer runs out in the
            // end) rather than reset a connection whose handshake completed.
            Stats.ConnectionsRefusedForMemory++;
            return false;
        }
        if (listener is not null)
        {
            _halfOpen--;
            listener.HalfOpen--;
            socket.Listener = null;
        }
        if (listener is null || listener.IsClosed || listener.Accepted.Count >= listener.Backlog || !TryAllocateBuffers(socket))
        {
            socket.Abort();
            socket.MarkOrphan();
            return false;
        }
        listener.Accepted.Enqueue(socket);
        Stats.ConnectionsAccepted++;
        QueueNotify(listener);
        return true;
    }

    /// <summary>Starts an active open to <paramref name="remote"/> from an ephemeral port.</summary>
    public TcpSocket Connect(Ipv4Endpoint remote, ushort localPort = 0)
    {
        var address = _iface.Address ?? throw new NetworkException(NetworkError.HostUnreachable, $"cannot connect to {remote}: the stack has no address yet");
        if (remote.Port == 0 || remote.Address.IsUnspecified || remote.Address.IsBroadcast || remote.Address.IsMulticast || address.IsBroadcast(remote.Address))
        {
            throw new NetworkException(NetworkError.HostUnreachable, $"cannot connect to {remote}: not a unicast endpoint");
        }
        if (!address.Cidr.Contains(remote.Address) && address.Gateway is null)
        {
            throw new NetworkException(NetworkError.HostUnreachable, $"no route to {remote.Address}: it is outside {address.Cidr} and there is no gateway");
        }
        ushort port = localPort;
        if (port != 0 && _sockets.ContainsKey(new TcpConnectionKey(port, remote.Address, remote.Port)))
        {
            throw new NetworkException(NetworkError.AddressInUse, $"a connection from port {port} to {remote} exists");
        }
        for (int tries = 0; port == 0 && tries < 65536 - FirstEphemeralPort; tries++)
        {
            ushort candidate = _nextEphemeral;
            _nextEphemeral = _nextEphemeral == ushort.MaxValue ? FirstEphemeralPort : (ushort)(_nextEphemeral + 1);
            if (!_listeners.ContainsKey(candidate) && !_sockets.ContainsKey(new TcpConnectionKey(candidate, remote.Address, remote.Port)))
            {
                port = candidate;
                break;
            }
        }
        if (port == 0)
        {
            throw new NetworkException(NetworkError.AddressInUse, $"no ephemeral port is free for {remote}");
        }
        var local = new Ipv4Endpoint(address.Address, port);
        var socket = new TcpSocket(this, Settings, local, remote, _iface.Mtu, _iface.MaxOffloadSegment);
        if (!TryAllocateBuffers(socket))
        {
            throw new NetworkException(NetworkError.Other, "TCP buffer memory is exhausted");
        }
        socket.Connect(Isn(local, remote, _now), TimestampOffset(local, remote), _now);
        _sockets.Add(new TcpConnectionKey(port, remote.Address, remote.Port), socket);
        Touch(socket);
        return socket;
    }

    public TcpListenerCore Listen(ushort port, int backlog)
    {
        ArgumentOutOfRangeException.ThrowIfZero(port);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(backlog);
        if (_listeners.ContainsKey(port))
        {
            throw new NetworkException(NetworkError.AddressInUse, $"TCP port {port} is already listening");
        }
        var listener = new TcpListenerCore(port, backlog);
        _listeners.Add(port, listener);
        return listener;
    }

    /// <summary>Stops listening; connections not yet accepted are reset.</summary>
    public void Unlisten(TcpListenerCore listener)
    {
        if (listener.IsClosed)
        {
            return;
        }
        listener.IsClosed = true;
        _listeners.Remove(listener.Port);
        while (listener.Accepted.TryDequeue(out var socket))
        {
            socket.Abort();
            socket.MarkOrphan();
            Touch(socket);
        }
        QueueNotify(listener);
    }

    public void Poll(Instant now)
    {
        lock (Lock)
        {
            _now = now;
            while (_timers.TryPeek(out var timed, out var at) && at <= now)
            {
                _timers.Dequeue();
                if (timed.ScheduledAt == at)
                {
                    timed.ScheduledAt = Instant.Never;
                    Touch(timed);
                }
            }
            // Polling one connection may touch another (a reset it sends does not, but stay safe): index, not foreach.
            for (int i = 0; i < _due.Count; i++)
            {
                var socket = _due[i];
                socket.PollQueued = false;
                if (!IsInTable(socket))
                {
                    continue;
                }
                socket.Poll(now, this);
                if (socket.State == TcpState.Closed)
                {
                    _closed.Add(socket);
                }
                else
                {
                    Schedule(socket, now);
                }
            }
            _due.Clear();
            foreach (var socket in _closed)
            {
                Remove(socket);
            }
            _closed.Clear();
            // The age queue holds entries that have left TIME-WAIT; drop them from the front so they do not keep
            // closed connections reachable.
            while (_timeWaitOrder.TryPeek(out var oldest) && oldest.State != TcpState.TimeWait)
            {
                _timeWaitOrder.Dequeue();
            }
        }
        FlushNotifications();
    }

    public Instant PollAt(Instant now)
    {
        lock (Lock)
        {
            if (_due.Count > 0 || _notifySockets.Count > 0 || _notifyListeners.Count > 0)
            {
                return now;
            }
            while (_timers.TryPeek(out var socket, out var at))
            {
                if (socket.ScheduledAt == at)
                {
                    return at;
                }
                _timers.Dequeue();
            }
            return Instant.Never;
        }
    }

    /// <summary>Something changed <paramref name="socket"/> (a segment, an app call): it is polled at the next poll. Under the lock.</summary>
    public void Touch(TcpSocket socket)
    {
        if (!socket.PollQueued)
        {
            socket.PollQueued = true;
            _due.Add(socket);
        }
    }

    /// <summary>Files a polled connection under its next deadline.</summary>
    private void Schedule(TcpSocket socket, Instant now)
    {
        var at = socket.PollAt(now);
        if (at == socket.ScheduledAt)
        {
            return;
        }
        socket.ScheduledAt = at;
        if (at == Instant.Never)
        {
            return;
        }
        // Entries left behind by deadlines that moved: rebuild from the live ones before they outnumber the connections.
        if (_timers.Count >= 2 * _sockets.Count + 64)
        {
            _timers.Clear();
            foreach (var live in _sockets.Values)
            {
                if (live.ScheduledAt != Instant.Never)
                {
                    _timers.Enqueue(live, live.ScheduledAt);
                }
            }
            return;
        }
        _timers.Enqueue(socket, at);
    }

    private bool IsInTable(TcpSocket socket) => _sockets.TryGetValue(KeyOf(socket), out var current) && ReferenceEquals(current, socket);

    /// <summary>Sends a reset (or any bare control segment) outside a connection.</summary>
    public void SendReset(Ipv4Endpoint local, Ipv4Endpoint remote, SeqNum seq, SeqNum ack, TcpFlags flags, Instant now)
    {
        var repr = new TcpRepr(local.Port, remote.Port, seq, ack, flags, 0);
        var buffer = _iface.TransmitPayload;
        repr.Emit(buffer, default, local.Address, remote.Address);
        Stats.ResetsSent++;
        Stats.SegmentsSent++;
        _iface.SendIp(remote.Address, IpProtocol.Tcp, repr.BufferLength, now);
    }

    /// <summary>True when a challenge ACK may go out now (RFC 5961 §7).</summary>
    public bool TryChallengeAck(Instant now)
    {
        Stats.ChallengeAcks++;
        return _challengeAcks.TryTake(now);
    }

    public void OnTimeWait(TcpSocket socket)
    {
        _timeWait++;
        socket.IsInTimeWaitCount = true;
        _timeWaitOrder.Enqueue(socket);
        // TIME-WAIT sends nothing but ACKs and takes no data: it holds no buffer but bytes the app has yet to read.
        ReleaseBuffersIfDone(socket);
        ReleaseUnneededBuffers(socket);
        while (_timeWait > Settings.MaxTimeWait && _timeWaitOrder.Count > 0)
        {
            var oldest = _timeWaitOrder.Dequeue();
            if (oldest.State == TcpState.TimeWait)
            {
                Stats.TimeWaitEvicted++;
                oldest.Terminate(null);
                Remove(oldest);
            }
        }
        CompactQueue(_timeWaitOrder, s => s.State == TcpState.TimeWait, Settings.MaxTimeWait);
    }

    /// <summary>The app disposed a connection: let it finish alone, freeing what it no longer needs.</summary>
    public void Orphan(TcpSocket socket)
    {
        socket.Orphan();
        Touch(socket);
        ReleaseBuffersIfDone(socket);
        if (socket.State == TcpState.Closed && !(_sockets.TryGetValue(KeyOf(socket), out var current) && ReferenceEquals(current, socket)))
        {
            ReleaseBuffers(socket);
        }
    }

    public void QueueNotify(TcpSocket socket)
    {
        if (!socket.NotifyQueued && socket.Changed is not null)
        {
            socket.NotifyQueued = true;
            _notifySockets.Enqueue(socket);
        }
    }

    private void QueueNotify(TcpListenerCore listener)
    {
        if (!listener.NotifyQueued && listener.Changed is not null)
        {
            listener.NotifyQueued = true;
            _notifyListeners.Enqueue(listener);
        }
    }

    /// <summary>Runs the app's wake-ups one at a time outside the lock (they may call back into the layer).</summary>
    public void FlushNotifications()
    {
        while (true)
        {
            Action? changed = null;
            lock (Lock)
            {
                if (_notifySockets.TryDequeue(out var socket))
                {
                    socket.NotifyQueued = false;
                    changed = socket.Changed;
                }
                else if (_notifyListeners.TryDequeue(out var listener))
                {
                    listener.NotifyQueued = false;
                    changed = listener.Changed;
                }
                else
                {
                    return;
                }
            }
            changed?.Invoke();
        }
    }

    private void Remove(TcpSocket socket)
    {
        var key = KeyOf(socket);
        if (_sockets.TryGetValue(key, out var current) && ReferenceEquals(current, socket))
        {
            _sockets.Remove(key);
        }
        socket.ScheduledAt = Instant.Never;
        if (socket.Listener is { } listener)
        {
            _halfOpen--;
            listener.HalfOpen--;
            socket.Listener = null;
        }
        if (socket.IsInTimeWaitCount)
        {
            socket.IsInTimeWaitCount = false;
            _timeWait--;
        }
        // Nothing will be sent any more. Received data stays readable after a normal close until the app disposes
        // the connection; after a reset or timeout it is discarded (RFC 9293 §3.10.7.4), so all can go.
        if (socket.IsOrphan || socket.Error is not null)
        {
            ReleaseBuffers(socket);
        }
        else
        {
            ReleaseUnneededBuffers(socket);
        }
    }

    /// <summary>A connection that will send and receive no more keeps only its unread bytes.</summary>
    private void ReleaseUnneededBuffers(TcpSocket socket)
    {
        if (socket.DetachSendBuffer() is { } tx)
        {
            BufferBytes -= tx.Capacity;
            tx.Release();
        }
        if (socket.Readable == 0)
        {
            ReleaseBuffers(socket);
        }
    }

    /// <summary>Called when the app read the last unread byte of a connection that receives no more.</summary>
    public void OnDrained(TcpSocket socket)
    {
        if (socket.State is TcpState.TimeWait or TcpState.Closed)
        {
            ReleaseBuffers(socket);
        }
    }

    /// <summary>True while a connection the app has closed and let go of still sends what it holds or waits for its FIN's acknowledgement.</summary>
    public bool HasClosesUnderWay()
    {
        lock (Lock)
        {
            foreach (var socket in _sockets.Values)
            {
                if (socket.IsOrphan && socket.Error is null && socket.IsClosing)
                {
                    return true;
                }
            }
            return false;
        }
    }

    /// <summary>The stack is stopping: every connection and listener ends with <see cref="NetworkError.Closed"/>.</summary>
    public void CloseAll()
    {
        lock (Lock)
        {
            foreach (var listener in _listeners.Values.ToArray())
            {
                Unlisten(listener);
            }
            foreach (var socket in _sockets.Values)
            {
                socket.Terminate(NetworkError.Closed);
                _closed.Add(socket);
            }
            foreach (var socket in _closed)
            {
                Remove(socket);
            }
            _closed.Clear();
        }
        FlushNotifications();
    }

    private static TcpConnectionKey KeyOf(TcpSocket socket) => new(socket.Local.Port, socket.Remote.Address, socket.Remote.Port);

    /// <summary>True when a new connection's buffers fit in the budget now.</summary>
    private bool BuffersFit() => BufferBytes + Settings.SendBufferSize + Settings.ReceiveBufferSize <= Settings.MaxBufferBytes;

    private bool TryAllocateBuffers(TcpSocket socket)
    {
        long bytes = (long)Settings.SendBufferSize + Settings.ReceiveBufferSize;
        if (BufferBytes + bytes > Settings.MaxBufferBytes)
        {
            Stats.ConnectionsRefusedForMemory++;
            _log.Warning(Source, $"refusing {socket.Remote}: {BufferBytes} bytes of TCP buffers are in use");
            return false;
        }
        socket.AttachBuffers(new TcpSendBuffer(Settings.SendBufferSize, pooled: true, _buffers), new TcpReceiveBuffer(Settings.ReceiveBufferSize, pooled: true, _buffers));
        BufferBytes += bytes;
        return true;
    }

    /// <summary>
    /// Receive window auto-tuning: doubles a connection's receive buffer (up to <see cref="TcpSettings.MaxReceiveBufferSize"/>)
    /// while all connections' buffers stay within three quarters of the total bound, so new connections still fit.
    /// </summary>
    public bool TryGrowReceiveBuffer(TcpReceiveBuffer rx)
    {
        int capacity = (int)Math.Min(2L * rx.Capacity, Settings.MaxReceiveBufferSize);
        long extra = capacity - rx.Capacity;
        if (extra <= 0)
        {
            return false;
        }
        if (BufferBytes + extra > Settings.MaxBufferBytes / 4 * 3)
        {
            Stats.ReceiveBufferGrowthsRefused++;
            return false;
        }
        rx.Grow(capacity);
        BufferBytes += extra;
        Stats.ReceiveBufferGrowths++;
        return true;
    }

    /// <summary>Frees the buffers of a connection that no one can read or write any more.</summary>
    public void ReleaseBuffers(TcpSocket socket)
    {
        var (tx, rx) = socket.DetachBuffers();
        if (tx is not null)
        {
            BufferBytes -= tx.Capacity;
            tx.Release();
        }
        if (rx is not null)
        {
            BufferBytes -= rx.Capacity;
            rx.Release();
        }
    }

    private void ReleaseBuffersIfDone(TcpSocket socket)
    {
        if (socket.IsOrphan && socket.State is TcpState.TimeWait or TcpState.Closed)
        {
            ReleaseBuffers(socket);
        }
    }

    private static void CompactQueue(Queue<TcpSocket> queue, Func<TcpSocket, bool> live, int bound)
    {
        // Entries that left the state stay in the queue until they reach its head; keep it bounded anyway.
        if (queue.Count <= 2 * bound + 16)
        {
            return;
        }
        int n = queue.Count;
        for (int i = 0; i < n; i++)
        {
            var s = queue.Dequeue();
            if (live(s))
            {
                queue.Enqueue(s);
            }
        }
    }

    /// <summary>Answers a SYN with a SYN-ACK whose ISN (and TSval) is a cookie, keeping nothing.</summary>
    private void SendSynCookie(in TcpRepr syn, Ipv4Endpoint local, Ipv4Endpoint remote, Instant now)
    {
        Stats.SynCookiesSent++;
        _cookiesUntil = now + Duration.FromSeconds(128);
        var iss = _cookies.Isn(local, remote, syn, now);
        bool sack = syn.SackPermitted && Settings.Sack;
        TcpTimestamp? timestamp = null;
        if (syn.Timestamp is { } ts)
        {
            uint clock = unchecked((uint)(now.Microseconds / 1000) + TimestampOffset(local, remote));
            timestamp = new TcpTimestamp(TcpSynCookies.Timestamp(clock, syn.WindowScale, sack), ts.Value);
        }
        // Without timestamps nothing can carry window scaling or SACK back, so neither is offered.
        bool options = timestamp is not null;
        var repr = new TcpRepr(local.Port, remote.Port, iss, syn.SequenceNumber + 1, TcpFlags.Syn | TcpFlags.Ack,
            (ushort)Math.Min(Settings.ReceiveBufferSize, ushort.MaxValue))
        {
            MaxSegmentSize = (ushort)Math.Min(_iface.Mtu - 40, ushort.MaxValue),
            WindowScale = options && syn.WindowScale is not null ? (byte)TcpSocket.ScaleFor(Math.Max(Settings.ReceiveBufferSize, Settings.MaxReceiveBufferSize)) : null,
            SackPermitted = options && sack,
            Timestamp = timestamp,
        };
        repr.Emit(_iface.TransmitPayload, default, local.Address, remote.Address);
        Stats.SegmentsSent++;
        _iface.SendIp(remote.Address, IpProtocol.Tcp, repr.BufferLength, now);
    }

    /// <summary>An ACK to a listener with no connection: when it returns a valid cookie, the connection is made from it.</summary>
    private bool OnCookieAck(TcpListenerCore listener, in TcpRepr ack, ReadOnlySpan<byte> data, Ipv4Endpoint local, Ipv4Endpoint remote, Instant now)
    {
        if (!_cookies.TryOpen(local, remote, ack, now, out var syn))
        {
            Stats.SynCookiesFailed++;
            return false;
        }
        if (listener.Accepted.Count >= listener.Backlog || !BuffersFit())
        {
            // As for a SYN: silent, and the peer's retransmission may find room.
            Stats.SynsDropped++;
            return true;
        }
        Stats.SynCookiesAccepted++;
        var socket = new TcpSocket(this, Settings, local, remote, _iface.Mtu, _iface.MaxOffloadSegment) { Listener = listener };
        socket.AcceptCookie(syn, ack.AckNumber - 1, TimestampOffset(local, remote), now);
        _sockets.Add(new TcpConnectionKey(local.Port, remote.Address, remote.Port), socket);
        _halfOpen++;
        listener.HalfOpen++;
        socket.Process(ack, data, now);
        Touch(socket);
        return true;
    }

    /// <summary>RFC 6528 §3: ISN = M + F(local, remote, secret), M a 4 µs clock, F a keyed hash (SipHash here).</summary>
    internal SeqNum Isn(Ipv4Endpoint local, Ipv4Endpoint remote, Instant now)
    {
        Span<byte> tuple = stackalloc byte[12];
        local.Address.Write(tuple);
        remote.Address.Write(tuple[4..]);
        BinaryPrimitives.WriteUInt16BigEndian(tuple[8..], local.Port);
        BinaryPrimitives.WriteUInt16BigEndian(tuple[10..], remote.Port);
        uint f = (uint)SipHash.Hash(_isnKey0, _isnKey1, tuple);
        uint m = unchecked((uint)(now.Microseconds / 4));
        return new SeqNum(unchecked(m + f));
    }

    /// <summary>RFC 7323 §5.4: a per-connection random offset for timestamps, so they reveal no clock.</summary>
    private uint TimestampOffset(Ipv4Endpoint local, Ipv4Endpoint remote)
    {
        Span<byte> tuple = stackalloc byte[12];
        local.Address.Write(tuple);
        remote.Address.Write(tuple[4..]);
        BinaryPrimitives.WriteUInt16BigEndian(tuple[8..], local.Port);
        BinaryPrimitives.WriteUInt16BigEndian(tuple[10..], remote.Port);
        return (uint)SipHash.Hash(_tsKey, _isnKey0, tuple);
    }
}
