namespace Unisharp.Net.Tcp;

internal sealed partial class TcpSocket
{
    /// <summary>
    /// Takes received bytes: the count (more than zero), 0 at the end of the stream (the peer's FIN), or -1 when
    /// the app must wait. A reset or timeout throws.
    /// </summary>
    public int Receive(Span<byte> destination)
    {
        if (Error is { } failed && State == TcpState.Closed)
        {
            throw Failure(failed);
        }
        if (_rx is not null && _rx.Readable > 0 && !destination.IsEmpty)
        {
            int n = _rx.Read(destination);
            _layer.Touch(this);
            // RFC 9293 §3.8.6.2.2 (receiver SWS avoidance), as Linux does it: announce the window once it is at
            // least twice what the peer still believes it has, and by a segment at least.
            int believed = Math.Max(0, _advertisedRight - _rcvNxt);
            int window = _rx.Window;
            if (window >= 2 * believed && window - believed >= Math.Min(_ourMss, _rx.Capacity / 2))
            {
                _ackNow = State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2;
            }
            if (_rx.Readable == 0)
            {
                _layer.OnDrained(this);
            }
            return n;
        }
        if (Error is { } error)
        {
            throw Failure(error);
        }
        if (_finReceived || (State == TcpState.Closed && Readable == 0))
        {
            return 0;
        }
        return destination.IsEmpty ? 0 : -1;
    }

    /// <summary>Queues as much of <paramref name="data"/> as fits; returns how much (0 means wait for room).</summary>
    public int Send(ReadOnlySpan<byte> data)
    {
        if (Error is { } error)
        {
            throw Failure(error);
        }
        if (_finQueued || State is TcpState.Closed or TcpState.TimeWait)
        {
            throw new NetworkException(NetworkError.Closed, $"the connection {Local} -> {Remote} is closed for sending");
        }
        int written = _tx?.Write(data) ?? 0;
        if (written > 0)
        {
            _layer.Touch(this);
        }
        return written;
    }

    /// <summary>RFC 9293 §3.10.4 CLOSE: a FIN after the queued data; reading goes on.</summary>
    public void Shutdown()
    {
        if (_finQueued)
        {
            return;
        }
        _layer.Touch(this);
        switch (State)
        {
            case TcpState.SynSent:
                Terminate(NetworkError.Closed);
                return;
            case TcpState.SynReceived:
            case TcpState.Established:
                State = TcpState.FinWait1;
                break;
            case TcpState.CloseWait:
                State = TcpState.LastAck;
                break;
            default:
                return;
        }
        _finQueued = true;
        _finSeq = _sndUna + (_tx?.Length ?? 0);
    }

    /// <summary>
    /// A graceful close that waits for its end (SO_LINGER): our FIN goes after the queued data, and a connection whose
    /// FIN is not acknowledged by <paramref name="deadline"/> is reset.
    /// </summary>
    public void Close(Instant deadline)
    {
        Shutdown();
        if (!IsCloseDone)
        {
            _lingerAt = Instant.Min(_lingerAt, deadline);
            _layer.Touch(this);
        }
    }

    /// <summary>Our FIN was acknowledged: everything written reached the peer.</summary>
    public bool FinAcknowledged => _finQueued && _sndUna == _finSeq + 1;

    /// <summary>A close has nothing more to wait for: our FIN is acknowledged or the connection is over.</summary>
    public bool IsCloseDone => FinAcknowledged || State is TcpState.Closed or TcpState.TimeWait;

    /// <summary>Our FIN is queued after the data and not yet acknowledged: a graceful close under way.</summary>
    public bool IsClosing => _finQueued && !IsCloseDone;

    /// <summary>RFC 9293 §3.10.5 ABORT: a reset goes out on the next poll; queued data is discarded.</summary>
    public void Abort()
    {
        if (State is TcpState.Closed)
        {
            return;
        }
        _layer.Touch(this);
        if (State is TcpState.SynSent or TcpState.TimeWait)
        {
            Terminate(NetworkError.Closed);
            return;
        }
        Error ??= NetworkError.Closed;
        _rstPending = true;
    }

    /// <summary>
    /// The app is done with the connection: close it gracefully; the layer finishes the handshake alone. Unread
    /// data makes it a reset instead, so the peer learns its data was lost (RFC 2525 §2.17, as Linux does).
    /// </summary>
    public void Orphan()
    {
        _orphan = true;
        Changed = null;
        if (_rx is not null && _rx.Readable > 0 && State is not (TcpState.Closed or TcpState.TimeWait))
        {
            Abort();
            return;
        }
        _rx?.Discard();
        Shutdown();
        if (State == TcpState.FinWait2)
        {
            _stateTimerAt = Instant.Min(_stateTimerAt, _lastReceived + _settings.FinWait2Timeout);
        }
    }

    /// <summary>Nobody will use the connection from the app side any more.</summary>
    public void MarkOrphan()
    {
        _orphan = true;
        Changed = null;
    }

    private NetworkException Failure(NetworkError error) => error switch
    {
        NetworkError.ConnectionRefused => new NetworkException(error, $"connection to {Remote} refused"),
        NetworkError.ConnectionReset => new NetworkException(error, $"connection {Local} -> {Remote} reset by the peer"),
        NetworkError.TimedOut => new NetworkException(error, $"connection {Local} -> {Remote} timed out"),
        _ => new NetworkException(error, $"connection {Local} -> {Remote} is closed"),
    };
}
