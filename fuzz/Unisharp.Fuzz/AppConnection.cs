using Unisharp.Net;
using Unisharp.Net.Tcp;

namespace Unisharp.Fuzz;

/// <summary>A connection the stateful target's app holds: at most one read and one write at a time, and its socket's invariants.</summary>
internal sealed class AppConnection(ITcpConnection connection, PendingOperations pending)
{
    private readonly byte[] _readBuffer = new byte[4096];
    private Task _reading = Task.CompletedTask;
    private Task _writing = Task.CompletedTask;
    private SeqNum? _lastReceiveNext;

    public ITcpConnection Connection => connection;

    public void Read()
    {
        if (_reading.IsCompleted)
        {
            _reading = Start(connection.ReadAsync(_readBuffer).AsTask());
        }
    }

    public void Write(ReadOnlyMemory<byte> data)
    {
        if (_writing.IsCompleted)
        {
            _writing = Start(connection.WriteAsync(data).AsTask());
        }
    }

    public void ShutdownWrite()
    {
        if (_writing.IsCompleted)
        {
            _writing = Start(connection.ShutdownWriteAsync().AsTask());
        }
    }

    private Task Start(Task operation)
    {
        pending.Observe(new ValueTask(operation));
        return operation;
    }

    /// <summary>RFC 9293 §3.3.1: SND.UNA ≤ SND.NXT, no more in flight than was buffered, RCV.NXT only moves forward.</summary>
    public void Check(TcpLayer layer)
    {
        var socket = ((DirectTcpConnection)connection).Socket;
        FuzzTargets.Check(socket.SendUnacknowledged <= socket.SendNext,
            $"SND.UNA {socket.SendUnacknowledged} is past SND.NXT {socket.SendNext} in {socket.State}");
        int flight = socket.SendNext - socket.SendUnacknowledged;
        // What is in flight was buffered (every connection's buffers count in the layer's total); a SYN and a FIN take a number each.
        FuzzTargets.Check(!socket.HasBuffers || flight <= layer.BufferBytes + 2, $"{flight} bytes in flight in {socket.State}");
        bool synchronized = socket.State is not (TcpState.Closed or TcpState.SynSent or TcpState.SynReceived);
        if (_lastReceiveNext is { } last && synchronized)
        {
            FuzzTargets.Check(socket.ReceiveNext >= last, $"RCV.NXT moved back from {last} to {socket.ReceiveNext} in {socket.State}");
        }
        if (synchronized)
        {
            _lastReceiveNext = socket.ReceiveNext;
        }
    }
}
