using Unisharp.Net.Wire;

namespace Unisharp.Net.Tcp;

/// <summary>
/// One TCP connection's synchronous core (smoltcp's TcpSocket): the RFC 9293 state machine, fed segments by
/// <see cref="Process"/> and driven by <see cref="Poll"/> at <see cref="PollAt"/>, which sends what is due.
/// Not thread-safe: the <see cref="TcpLayer"/> lock guards every call.
/// </summary>
internal sealed partial class TcpSocket
{
    private readonly TcpLayer _layer;
    private readonly TcpSettings _settings;

    private TcpSendBuffer? _tx;
    private TcpReceiveBuffer? _rx;

    // Send sequence space (RFC 9293 §3.3.1). SND.MAX is the highest SND.NXT ever sent (go-back-N after an RTO rewinds SND.NXT).
    private SeqNum _iss;
    private SeqNum _sndUna;
    private SeqNum _sndNxt;
    private SeqNum _sndMax;
    private SeqNum _sndWl1;
    private SeqNum _sndWl2;
    private int _sndWnd;
    private int _maxSndWnd;
    private bool _finQueued;
    private SeqNum _finSeq;

    // Receive sequence space.
    private SeqNum _irs;
    private SeqNum _rcvNxt;
    private SeqNum _advertisedRight;
    private SeqNum? _remoteFinSeq;
    // Where the SACK blocks' rotating slot goes on from (see SackBlocksToSend).
    private int _sackCursor;
    private bool _finReceived;

    // Options negotiated on the SYNs.
    private bool _wsEnabled;
    private int _sndShift;
    private int _rcvShift;
    private bool _tsEnabled;
    private uint _tsRecent;
    private uint _tsOffset;
    private SeqNum _lastAckSent;
    private bool _sackEnabled;
    private int _smss = 536;
    private readonly int _ourMss;
    private readonly int _maxOffloadSegment;
    /// <summary>The most new data one segment carries: SMSS, or a multiple of it with segmentation offload.</summary>
    private int _maxSegment = 536;

    // Congestion control (RFC 5681, NewReno RFC 6582).
    private int _cwnd;
    private int _ssthresh = int.MaxValue;

    // Acknowledgment, probes and state timers.
    private bool _ackNow;
    private Instant _ackAt = Instant.Never;
    private int _unackedSegments;
    private Instant _persistAt = Instant.Never;
    private Duration _persistBackoff;
    private Instant _stateTimerAt = Instant.Never;
    // A lingering close (Close): when an unacknowledged FIN gives way to a reset.
    private Instant _lingerAt = Instant.Never;
    private Instant _lastReceived;
    private int _keepAliveSent;
    private bool _rstPending;
    private bool _orphan;
    // Receive window auto-tuning: the receiver's round trip in µs (-1 before a sample) and the measuring interval.
    private long _rcvRtt = -1;
    private Instant _tuneStart = Instant.Never;
    private SeqNum _tuneSeq;

    /// <param name="maxOffloadSegment">The largest segment payload the device cuts into MSS-sized ones (segmentation offload), or 0.</param>
    public TcpSocket(TcpLayer layer, TcpSettings settings, Ipv4Endpoint local, Ipv4Endpoint remote, int mtu, int maxOffloadSegment = 0)
    {
        _maxOffloadSegment = maxOffloadSegment;
        _layer = layer;
        _settings = settings;
        Local = local;
        Remote = remote;
        _ourMss = Math.Min(mtu - 40, ushort.MaxValue);
        NoDelay = settings.NoDelay;
        KeepAlive = settings.KeepAlive;
    }

    public Ipv4Endpoint Local { get; }

    public Ipv4Endpoint Remote { get; }

    public TcpState State { get; private set; }

    /// <summary>Why the connection ended abnormally (reset, refused, timed out), or null.</summary>
    public NetworkError? Error { get; private set; }

    /// <summary>The listener a passive open came through, until it is accepted.</summary>
    public TcpListenerCore? Listener { get; set; }

    /// <summary>Called (outside the lock) when something the app waits for may have changed.</summary>
    public Action? Changed { get; set; }

    /// <summary>Counted among the layer's TIME-WAIT connections.</summary>
    internal bool IsInTimeWaitCount { get; set; }

    /// <summary>Queued for the layer's notification pass.</summary>
    internal bool NotifyQueued { get; set; }

    /// <summary>Queued for the layer's next poll (touched since the last).</summary>
    internal bool PollQueued { get; set; }

    /// <summary>The deadline the layer filed this connection under; <see cref="Instant.Never"/> when none.</summary>
    internal Instant ScheduledAt { get; set; } = Instant.Never;

    /// <summary>Disables Nagle's algorithm (RFC 896): small writes go out at once.</summary>
    public bool NoDelay { get; set; }

    /// <summary>Sends keep-alive probes when idle (RFC 9293 §3.8.4).</summary>
    public bool KeepAlive { get; set; }

    /// <summary>True while the connection holds its send and receive buffers.</summary>
    public bool HasBuffers => _tx is not null;

    public bool IsOrphan => _orphan;

    public SeqNum ReceiveNext => _rcvNxt;

    public SeqNum SendNext => _sndNxt;

    public SeqNum SendUnacknowledged => _sndUna;

    public int CongestionWindow => _cwnd;

    public int SlowStartThreshold => _ssthresh;

    public int SendMss => _smss;

    public bool TimestampsEnabled => _tsEnabled;

    /// <summary>TS.Recent (RFC 7323 §4.3): the peer's timestamp we echo, for tests that craft the peer's segments.</summary>
    internal uint TimestampRecent => _tsRecent;

    public bool SackEnabled => _sackEnabled;

    public int SendWindowShift => _sndShift;

    public int ReceiveWindowShift => _rcvShift;

    /// <summary>Bytes the app has written that are not yet acknowledged.</summary>
    public int SendQueued => _tx?.Length ?? 0;

    public int SendFree => _finQueued || _tx is null ? 0 : _tx.Free;

    public int Readable => _rx?.Readable ?? 0;

    /// <summary>Out-of-order ranges held in the receive buffer.</summary>
    public int ReceiveBufferRanges => _rx?.RangeCount ?? 0;

    /// <summary>True once the handshake is over (or failed): a connect waiter may go on.</summary>
    public bool IsHandshakeDone => State is not (TcpState.SynSent or TcpState.SynReceived);

    public bool ReceivedFin => _finReceived;

    /// <summary>True when something should go out at once (a window update after a read): the stack should poll.</summary>
    public bool WantsPoll => _ackNow || _rstPending;

    private bool SynAcked => _sndUna != _iss || State is not (TcpState.SynSent or TcpState.SynReceived);

    /// <summary>The receive buffer's size now (it grows with auto-tuning).</summary>
    public int ReceiveCapacity => _rx?.Capacity ?? _settings.ReceiveBufferSize;

    /// <summary>The most the receive buffer may grow to: what the window scale is chosen for.</summary>
    private int MaxReceiveBuffer => Math.Max(_settings.ReceiveBufferSize, _settings.MaxReceiveBufferSize);

    private int ReceiveWindow => _rx?.Window ?? _settings.ReceiveBufferSize;

    /// <summary>Starts an active open: buffers are allocated by the caller, the SYN goes out on the next poll.</summary>
    public void Connect(SeqNum iss, uint tsOffset, Instant now)
    {
        Init(iss, tsOffset, now);
        _rcvShift = ScaleFor(MaxReceiveBuffer);
        State = TcpState.SynSent;
    }

    /// <summary>A passive open: the SYN <paramref name="syn"/> reached a listener (RFC 9293 §3.10.7.2).</summary>
    public void Accept(in TcpRepr syn, SeqNum iss, uint tsOffset, Instant now)
    {
        Init(iss, tsOffset, now);
        _irs = syn.SequenceNumber;
        _rcvNxt = _irs + 1;
        _advertisedRight = _rcvNxt;
        _lastAckSent = _rcvNxt;
        NegotiateOptions(syn, offered: true);
        _sndWnd = syn.WindowLength;
        _maxSndWnd = _sndWnd;
        _sndWl1 = syn.SequenceNumber;
        _sndWl2 = iss;
        State = TcpState.SynReceived;
    }

    /// <summary>A passive open rebuilt from a SYN cookie: as <see cref="Accept"/>, with the SYN-ACK already sent.</summary>
    public void AcceptCookie(in TcpRepr syn, SeqNum iss, uint tsOffset, Instant now)
    {
        Accept(syn, iss, tsOffset, now);
        _sndNxt = iss + 1;
        _sndMax = _sndNxt;
    }

    internal void AttachBuffers(TcpSendBuffer tx, TcpReceiveBuffer rx)
    {
        _tx = tx;
        _rx = rx;
    }

    internal TcpSendBuffer? DetachSendBuffer()
    {
        var tx = _tx;
        _tx = null;
        return tx;
    }

    internal (TcpSendBuffer? Tx, TcpReceiveBuffer? Rx) DetachBuffers()
    {
        var buffers = (_tx, _rx);
        _tx = null;
        _rx = null;
        return buffers;
    }

    private void Init(SeqNum iss, uint tsOffset, Instant now)
    {
        _iss = iss;
        _sndUna = iss;
        _sndNxt = iss;
        _sndMax = iss;
        _recover = iss;
        _tsOffset = tsOffset;
        _lastReceived = now;
    }

    /// <summary>The window shift that lets <paramref name="buffer"/> bytes be advertised.</summary>
    internal static int ScaleFor(int buffer)
    {
        int shift = 0;
        while (shift < TcpRepr.MaxWindowScale && buffer >> shift > ushort.MaxValue)
        {
            shift++;
        }
        return shift;
    }

    /// <summary>Applies the options of the peer's SYN; <paramref name="offered"/> is false when we sent none in ours.</summary>
    private void NegotiateOptions(in TcpRepr syn, bool offered)
    {
        // RFC 7323 §2.2: scaling is on only when both SYNs carry the option.
        if (offered && syn.WindowScale is { } scale)
        {
            _wsEnabled = true;
            _sndShift = scale;
            _rcvShift = ScaleFor(MaxReceiveBuffer);
        }
        else
        {
            _wsEnabled = false;
            _sndShift = 0;
            _rcvShift = 0;
        }
        if (offered && syn.Timestamp is { } ts)
        {
            _tsEnabled = true;
            _tsRecent = ts.Value;
        }
        _sackEnabled = offered && syn.SackPermitted && _settings.Sack;
        // RFC 9293 §3.7.1: without the option, the peer can take 536 bytes; RFC 7323 §3.2: options come off each segment.
        int peerMss = syn.MaxSegmentSize ?? 536;
        _smss = Math.Max(Math.Min(peerMss, _ourMss) - (_tsEnabled ? 12 : 0), 64);
        _maxSegment = Math.Max(_smss, _maxOffloadSegment / _smss * _smss);
        // RFC 5681 §3.1: the initial window.
        _cwnd = _smss > 2190 ? 2 * _smss : _smss > 1095 ? 3 * _smss : 4 * _smss;
    }

    private uint TimestampNow(Instant now) => unchecked((uint)(now.Microseconds / 1000) + _tsOffset);
}
