using Unisharp.Net;

namespace Unisharp.Devices.Middleware;

/// <summary>
/// Wraps a network device and records every frame it receives and transmits to a libpcap file, for
/// tcpdump or Wireshark. Frames pass through unchanged; recording allocates nothing per frame.
/// </summary>
/// <remarks>
/// Timestamps are the clock's wall time when the device was made plus the monotonic time since, so they
/// read as calendar time yet never go back. A received frame is recorded before the handler sees it (the
/// handler may change it in place); a transmitted one after the builder wrote it. Records are buffered and
/// flushed at least once a second of clock time while frames flow, within a second once they stop (the wait for
/// the next frame is cut short to flush), and on <see cref="Dispose"/>: a capture read after the traffic has been
/// quiet for a second, or after the device is gone, holds every frame.
/// Offload metadata passes through (the inner device's capabilities are this device's): frames are recorded as
/// the card takes and gives them, so a capture may show partial checksums and TCP segments larger than the MTU,
/// as tcpdump on a host with offload does.
/// The device owns the inner device and the output stream, and disposes both.
/// </remarks>
public sealed class PcapWriterDevice : INetworkDevice
{
    private static readonly Duration s_flushInterval = Duration.FromSeconds(1);

    private readonly INetworkDevice _inner;
    private readonly IClock _clock;
    private readonly PcapWriter _writer;
    private readonly long _wallOriginMicroseconds;
    private readonly Instant _origin;
    private readonly byte[] _receiveBuffer;
    private readonly byte[] _transmitBuffer;
    private Instant _lastFlush;
    private bool _unflushed;
    private bool _disposed;

    /// <param name="inner">The device whose frames are recorded.</param>
    /// <param name="output">Where the pcap file is written; disposed with this device.</param>
    /// <param name="clock">Timestamps the frames.</param>
    public PcapWriterDevice(INetworkDevice inner, Stream output, IClock clock)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(clock);
        _inner = inner;
        _clock = clock;
        // Frames longer than the device's largest frame cannot occur, except with segmentation offload.
        _writer = new PcapWriter(output, Math.Max(PcapWriter.DefaultSnapLength, inner.Capabilities.MaxFrameLength));
        _origin = clock.Now;
        _lastFlush = _origin;
        int largest = inner.Capabilities.SegmentationOffload ? 65536 + NetworkDeviceCapabilities.EthernetOverhead : inner.Capabilities.MaxFrameLength;
        _receiveBuffer = new byte[largest];
        _transmitBuffer = new byte[largest];
        _wallOriginMicroseconds = (clock.WallNow.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;
    }

    /// <summary>Records the frames of <paramref name="inner"/> to a new file at <paramref name="path"/> (replacing one there).</summary>
    public static PcapWriterDevice Create(INetworkDevice inner, string path, IClock clock)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // No FileStream buffer: PcapWriter buffers records itself.
        var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0);
        try
        {
            return new PcapWriterDevice(inner, file, clock);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public string Name => _inner.Name;

    public MacAddress MacAddress => _inner.MacAddress;

    /// <summary>The inner device's: offload metadata passes through.</summary>
    public NetworkDeviceCapabilities Capabilities => _inner.Capabilities;

    /// <summary>Frames recorded so far, in both directions.</summary>
    public long FramesWritten => _writer.FramesWritten;

    // Frames pass through this device's own buffers, and the inner device is only ever called with one
    // handler type (and TrySend's one builder type). Wrapping the caller's generic handler or builder
    // instead would let NativeAOT's generic expansion recurse through stacked middleware without end.
    // The copy costs a memcpy per frame, on a device used for debugging.
    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var capture = new CaptureHandler(_receiveBuffer);
        if (!_inner.TryReceive(ref capture))
        {
            return false;
        }
        var frame = _receiveBuffer.AsSpan(0, capture.Length);
        Record(frame);
        if (capture.Offload.IsNone)
        {
            handler.Handle(frame);
        }
        else
        {
            handler.Handle(frame, capture.Offload);
        }
        return true;
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct =>
        TryTransmit(length, default(FrameOffload), ref builder);

    public bool TryTransmit<TBuilder>(int length, in FrameOffload offload, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _transmitBuffer.Length);
        var frame = _transmitBuffer.AsSpan(0, length);
        builder.Build(frame);
        var copy = new CopyBuilder(frame);
        if (!_inner.TryTransmit(length, offload, ref copy))
        {
            return false;
        }
        Record(frame);
        return true;
    }

    /// <summary>
    /// Waits on the inner device, but while records wait in the buffer no longer than until they are a second old,
    /// and then flushes them: a capture is complete soon after the traffic stops, not only at the next frame.
    /// </summary>
    public bool WaitForFrame(TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_unflushed)
        {
            return _inner.WaitForFrame(timeout);
        }
        TimeSpan untilFlush = (s_flushInterval - (_clock.Now - _lastFlush)).ToTimeSpan();
        if (untilFlush > TimeSpan.Zero)
        {
            if (timeout <= untilFlush)
            {
                return _inner.WaitForFrame(timeout);
            }
            if (_inner.WaitForFrame(untilFlush))
            {
                return true;
            }
            timeout -= untilFlush;
        }
        // No frame for a second since the last flush: write out what waits, then wait the rest.
        Flush();
        return _inner.WaitForFrame(timeout);
    }

    public void Wake() => _inner.Wake();

    /// <summary>Writes buffered records to the output.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _writer.Flush();
        _lastFlush = _clock.Now;
        _unflushed = false;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        try
        {
            _writer.Dispose();
        }
        finally
        {
            _inner.Dispose();
        }
    }

    private void Record(ReadOnlySpan<byte> frame)
    {
        Instant now = _clock.Now;
        _writer.WriteFrame(_wallOriginMicroseconds + (now - _origin).Microseconds, frame);
        _unflushed = true;
        // A long capture stays readable while it runs (tail -f | tcpdump -r -) and loses little on a crash.
        if (now - _lastFlush >= s_flushInterval)
        {
            _writer.Flush();
            _lastFlush = now;
            _unflushed = false;
        }
    }

    /// <summary>Copies the lent frame, and its offload metadata, into the device's receive buffer.</summary>
    private struct CaptureHandler(byte[] buffer) : IFrameHandler
    {
        public int Length { get; private set; }

        public FrameOffload Offload { get; private set; }

        public void Handle(Span<byte> frame)
        {
            int n = Math.Min(frame.Length, buffer.Length);
            frame[..n].CopyTo(buffer);
            Length = n;
        }

        public void Handle(Span<byte> frame, in FrameOffload offload)
        {
            Handle(frame);
            Offload = offload;
        }
    }

    /// <summary>Copies the frame built in the device's transmit buffer into the inner device's.</summary>
    private readonly ref struct CopyBuilder(ReadOnlySpan<byte> source) : IFrameBuilder
    {
        private readonly ReadOnlySpan<byte> _source = source;

        public void Build(Span<byte> frame) => _source.CopyTo(frame);
    }
}
