using System.Buffers;
using System.IO.Pipelines;

namespace Unisharp.Net;

/// <summary>
/// Two pumps between a connection and two pipes: received bytes into the input pipe (its pause threshold is the
/// backpressure that lets our receive window close), flushed output into the connection's send buffer.
/// </summary>
internal sealed class TcpConnectionPipe : IDuplexPipe
{
    private readonly ITcpConnection _connection;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private int _pumpsLeft = 2;

    public TcpConnectionPipe(ITcpConnection connection, PipeOptions options)
    {
        _connection = connection;
        _input = new Pipe(options);
        _output = new Pipe(options);
        _ = ReceiveAsync();
        _ = SendAsync();
    }

    public PipeReader Input => _input.Reader;

    public PipeWriter Output => _output.Writer;

    private async Task ReceiveAsync()
    {
        var writer = _input.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(16 * 1024);
                int n = await _connection.ReadAsync(memory).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                writer.Advance(n);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted)
                {
                    // The app completed the input before the end: nobody will read what follows.
                    _connection.Abort();
                    break;
                }
            }
        }
        catch (Exception e)
        {
            error = e;
        }
        await writer.CompleteAsync(error).ConfigureAwait(false);
        await PumpDoneAsync().ConfigureAwait(false);
    }

    private async Task SendAsync()
    {
        var reader = _output.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await reader.ReadAsync().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    // The app completed the output with an error: the connection is aborted, not closed.
                    _connection.Abort();
                    error = e;
                    break;
                }
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    await _connection.WriteAsync(segment).ConfigureAwait(false);
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    await _connection.ShutdownWriteAsync().ConfigureAwait(false);
                    break;
                }
            }
        }
        catch (Exception e)
        {
            error = e;
        }
        await reader.CompleteAsync(error).ConfigureAwait(false);
        await PumpDoneAsync().ConfigureAwait(false);
    }

    private async ValueTask PumpDoneAsync()
    {
        if (Interlocked.Decrement(ref _pumpsLeft) == 0)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
