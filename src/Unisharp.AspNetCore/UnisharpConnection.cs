using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Unisharp.Net;

namespace Unisharp.AspNetCore;

/// <summary>
/// One accepted TCP connection of our stack as Kestrel sees it: two pumps between the connection and two pipes.
/// The receive pump reads straight into the input pipe's memory (the one copy, out of the TCP receive buffer); when
/// Kestrel stops reading the pipe fills to its pause threshold, the pump stops reading and our receive window closes.
/// The send pump hands what Kestrel flushes to the TCP send buffer and waits while it is full, which holds Kestrel's
/// flushes at the output pipe's threshold. It behaves as Kestrel's socket transport does: the peer's FIN completes the
/// input and fires <see cref="ConnectionClosed"/>, the response side goes on (half-close); when Kestrel completes the
/// output the connection is closed as close(2) would (FIN after what was written, a reset if unread data is left);
/// <see cref="Abort(ConnectionAbortedException)"/> resets it.
/// </summary>
internal sealed class UnisharpConnection : ConnectionContext,
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature,
    IConnectionEndPointFeature, IMemoryPoolFeature
{
    /// <summary>The least room the receive pump asks of the input pipe for one read.</summary>
    private const int MinimumReadSize = 2048;

    private static long s_lastId;

    private readonly ITcpConnection _tcp;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly CancellationTokenSource _closed = new();
    private readonly Task _receiving;
    private readonly Task _sending;
    private string? _id;
    private IDictionary<object, object?>? _items;
    private volatile ConnectionAbortedException? _abortReason;
    private volatile bool _sendDone;

    public UnisharpConnection(ITcpConnection tcp, UnisharpTransportOptions options)
    {
        _tcp = tcp;
        var pool = options.MemoryPool ?? MemoryPool<byte>.Shared;
        MemoryPool = pool;
        LocalEndPoint = ToIPEndPoint(tcp.LocalEndpoint);
        RemoteEndPoint = ToIPEndPoint(tcp.RemoteEndpoint);
        // The pumps run inline wherever they are resumed: the receive pump where our read completed (the stack's I/O
        // thread under InlineContinuations), the send pump inside Kestrel's flush, so a response reaches the TCP send
        // buffer without a thread hop (the pumps never block). Kestrel's own code runs on the thread pool unless the
        // app prefers inline scheduling. A threshold of 0 means unlimited.
        var application = options.UnsafePreferInlineScheduling ? PipeScheduler.Inline : PipeScheduler.ThreadPool;
        _input = new Pipe(new PipeOptions(pool, application, PipeScheduler.Inline,
            options.MaxReadBufferSize, options.MaxReadBufferSize / 2, useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(pool, PipeScheduler.Inline, application,
            options.MaxWriteBufferSize, options.MaxWriteBufferSize / 2, useSynchronizationContext: false));
        Transport = new DuplexPipe(_input.Reader, _output.Writer);
        Features = new FeatureCollection();
        Features.Set<IConnectionIdFeature>(this);
        Features.Set<IConnectionTransportFeature>(this);
        Features.Set<IConnectionItemsFeature>(this);
        Features.Set<IConnectionLifetimeFeature>(this);
        Features.Set<IConnectionEndPointFeature>(this);
        Features.Set<IMemoryPoolFeature>(this);
        ConnectionClosed = _closed.Token;
        _receiving = ReceiveAsync();
        _sending = SendAsync();
    }

    public override string ConnectionId
    {
        get => _id ??= $"unisharp-{Interlocked.Increment(ref s_lastId):x}";
        set => _id = value;
    }

    public override IFeatureCollection Features { get; }

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed { get; set; }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    public MemoryPool<byte> MemoryPool { get; }

    internal static IPEndPoint ToIPEndPoint(Ipv4Endpoint endpoint)
    {
        Span<byte> address = stackalloc byte[Ipv4Address.Length];
        endpoint.Address.Write(address);
        return new IPEndPoint(new IPAddress(address), endpoint.Port);
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        Interlocked.CompareExchange(ref _abortReason, abortReason, null);
        // The reset makes a waiting read fail, which completes the input with the reason; the send pump stops.
        Reset();
        _output.Reader.CancelPendingRead();
    }

    private void Reset()
    {
        try
        {
            _tcp.Abort();
        }
        catch (Exception e) when (e is ObjectDisposedException or NetworkException)
        {
            // Already closed: nothing left to reset.
        }
    }

    public override void Abort() => Abort(new ConnectionAbortedException("The connection was aborted by the application."));

    public override async ValueTask DisposeAsync()
    {
        // Kestrel has completed its ends already; completing them again is harmless and ends the pumps if it had not.
        await _input.Reader.CompleteAsync().ConfigureAwait(false);
        await _output.Writer.CompleteAsync().ConfigureAwait(false);
        await _sending.ConfigureAwait(false);
        await _receiving.ConfigureAwait(false);
        await _tcp.DisposeAsync().ConfigureAwait(false);
        _closed.Dispose();
    }

    private async Task ReceiveAsync()
    {
        var writer = _input.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(MinimumReadSize);
                int n = await _tcp.ReadAsync(memory).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                writer.Advance(n);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    // Kestrel is done reading; the connection closes when it completes the output.
                    break;
                }
            }
        }
        catch (NetworkException e) when (_sendDone && _abortReason is null && e.Error == NetworkError.Closed)
        {
            // We closed the connection after the last response: the end of the input, not an error.
        }
        catch (NetworkException e) when (e.Error is NetworkError.ConnectionReset or NetworkError.TimedOut)
        {
            error = _abortReason ?? (Exception)new ConnectionResetException(e.Message, e);
        }
        catch (Exception e)
        {
            error = _abortReason ?? (Exception)new ConnectionAbortedException(e.Message, e);
        }
        await writer.CompleteAsync(_abortReason ?? error).ConfigureAwait(false);
        // As Kestrel's socket transport: the end of the input is the end of the connection for the request's lifetime.
        ThreadPool.UnsafeQueueUserWorkItem(static closed =>
        {
            try
            {
                closed.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }, _closed, preferLocal: false);
    }

    private async Task SendAsync()
    {
        var reader = _output.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }
                var buffer = result.Buffer;
                if (buffer.IsSingleSegment)
                {
                    await _tcp.WriteAsync(buffer.First).ConfigureAwait(false);
                }
                else
                {
                    foreach (var segment in buffer)
                    {
                        await _tcp.WriteAsync(segment).ConfigureAwait(false);
                    }
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e)
        {
            // Kestrel completed the output with an error, or the connection failed under a write.
            error = e is NetworkException ? new ConnectionResetException(e.Message, e) : e;
            Interlocked.CompareExchange(ref _abortReason, new ConnectionAbortedException(e.Message, e), null);
            Reset();
        }
        _sendDone = true;
        await reader.CompleteAsync(error).ConfigureAwait(false);
        // As close(2): our FIN after what was written (a reset if unread data is left); a waiting read ends.
        await _tcp.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    private sealed class ConnectionItems : Dictionary<object, object?>
    {
    }
}
