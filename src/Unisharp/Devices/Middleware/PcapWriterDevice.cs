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
/// flushed at least once a second of clock time while frames flow, and on <see cref="Dispose"/>.
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
    private Instant _lastFlush;
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

    public NetworkDeviceCapabilities Capabilities => _inner.Capabilities;

    /// <summary>Frames recorded so far, in both directions.</summary>
    public long FramesWritten => _writer.FramesWritten;

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Copied in and back out, so state the handler keeps (such as a length) reaches the caller.
        var recording = new RecordingHandler<THandler>(this, handler);
        try
        {
            return _inner.TryReceive(ref recording);
        }
        finally
        {
            handler = recording.Inner;
        }
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var recording = new RecordingBuilder<TBuilder>(this, builder);
        try
        {
            return _inner.TryTransmit(length, ref recording);
        }
        finally
        {
            builder = recording.Inner;
        }
    }

    public bool WaitForFrame(TimeSpan timeout) => _inner.WaitForFrame(timeout);

    public void Wake() => _inner.Wake();

    /// <summary>Writes buffered records to the output.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _writer.Flush();
        _lastFlush = _clock.Now;
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
        // A long capture stays readable while it runs (tail -f | tcpdump -r -) and loses little on a crash.
        if (now - _lastFlush >= s_flushInterval)
        {
            _writer.Flush();
            _lastFlush = now;
        }
    }

    private ref struct RecordingHandler<THandler>(PcapWriterDevice owner, THandler inner) : IFrameHandler
        where THandler : IFrameHandler, allows ref struct
    {
        public THandler Inner = inner;

        public void Handle(Span<byte> frame)
        {
            owner.Record(frame);
            Inner.Handle(frame);
        }
    }

    private ref struct RecordingBuilder<TBuilder>(PcapWriterDevice owner, TBuilder inner) : IFrameBuilder
        where TBuilder : IFrameBuilder, allows ref struct
    {
        public TBuilder Inner = inner;

        public void Build(Span<byte> frame)
        {
            Inner.Build(frame);
            owner.Record(frame);
        }
    }
}
