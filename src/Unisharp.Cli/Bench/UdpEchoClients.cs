using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Unisharp.Cli.Bench;

/// <summary>
/// <c>bench net --mode udp-echo</c>'s load: N clients, a thread and a connected UDP socket each in the clients'
/// namespace, each keeping <see cref="Window"/> datagrams of <see cref="DatagramBytes"/> bytes in flight until the
/// server has echoed its count back. A window that sees nothing for <see cref="LossTimeout"/> counts as lost.
/// </summary>
internal static class UdpEchoClients
{
    public const int DatagramBytes = 64;

    public const int Window = 32;

    public static readonly TimeSpan LossTimeout = TimeSpan.FromMilliseconds(500);

    /// <summary>What a run achieved: datagrams echoed back, lost, the time from the first send to the last echo, and the first error.</summary>
    public readonly record struct Outcome(long Echoed, long Lost, TimeSpan Wall, string? Error);

    public static async Task<Outcome> RunAsync(string ns, IPEndPoint server, int clients, long datagramsPerClient, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var echoed = new long[clients];
        var lost = new long[clients];
        var started = new long[clients];
        var ended = new long[clients];
        var errors = new string?[clients];
        var sockets = new Socket?[clients];
        using var barrier = new Barrier(clients);
        var threads = Enumerable.Range(0, clients).Select(i => new Thread(() => Client(i)) { IsBackground = true, Name = $"udp client {i}" }).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }
        var all = Task.Run(() => Array.ForEach(threads, t => t.Join()), CancellationToken.None);
        if (await Task.WhenAny(all, Task.Delay(timeout, cancellationToken)).ConfigureAwait(false) != all)
        {
            foreach (var socket in sockets)
            {
                socket?.Dispose();
            }
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            return new Outcome(echoed.Sum(), lost.Sum(), TimeSpan.Zero, $"timeout after {timeout.TotalSeconds:0} s");
        }
        string? error = errors.FirstOrDefault(e => e is not null);
        long first = started.Where(t => t != 0).DefaultIfEmpty(0).Min();
        var wall = error is null && first != 0 ? Stopwatch.GetElapsedTime(first, ended.Max()) : TimeSpan.Zero;
        return new Outcome(echoed.Sum(), lost.Sum(), wall, error);

        void Client(int i)
        {
            if (!NetClients.EnterAndWait(ns, barrier, errors, i))
            {
                return;
            }
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                sockets[i] = socket;
                socket.ReceiveTimeout = (int)LossTimeout.TotalMilliseconds;
                socket.Connect(server);
                byte[] datagram = new byte[DatagramBytes];
                byte[] reply = new byte[2048];
                long sent = 0;
                int inFlight = 0;
                started[i] = Stopwatch.GetTimestamp();
                while (echoed[i] + lost[i] < datagramsPerClient)
                {
                    while (inFlight < Window && sent < datagramsPerClient)
                    {
                        socket.Send(datagram);
                        sent++;
                        inFlight++;
                    }
                    try
                    {
                        if (socket.Receive(reply) == DatagramBytes && inFlight > 0)
                        {
                            echoed[i]++;
                            inFlight--;
                        }
                    }
                    catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
                    {
                        lost[i] += inFlight;
                        inFlight = 0;
                    }
                }
                ended[i] = Stopwatch.GetTimestamp();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                errors[i] = $"client {i}: {e.Message}";
            }
        }
    }
}
