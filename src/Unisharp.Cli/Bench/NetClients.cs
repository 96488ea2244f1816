using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Unisharp.Cli.Bench;

/// <summary>
/// The bench's load: N clients, each on its own thread in the peer namespace, connect at once, send their bytes
/// of zeros, close their side and wait for the server to close its own (so every byte has been read).
/// The same clients drive every target. <see cref="Nc"/> is the other client, bench/net/run.py's: one
/// <c>dd if=/dev/zero | nc -N</c> pipeline per client, whose own cost (a pipe, two processes) is part of the load.
/// </summary>
internal static class NetClients
{
    /// <summary>The bench's own clients: a thread each, socket sends of 1 MiB from memory.</summary>
    public const string Socket = "socket";

    /// <summary><c>dd | nc -N</c> per client, as bench/net/run.py.</summary>
    public const string Nc = "nc";

    public static readonly string[] Kinds = [Socket, Nc];

    private static readonly byte[] s_zeros = new byte[1 << 20];

    private static void Abort(Socket? socket)
    {
        if (socket is null)
        {
            return;
        }
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Not connected, or already closed.
        }
        socket.Dispose();
    }

    /// <summary>What a run achieved: bytes sent, the time from the first connect to the last close, and the first error.</summary>
    public readonly record struct Outcome(long Bytes, TimeSpan Wall, string? Error);

    /// <param name="receive">The clients receive instead: each reads until the server closes, then closes (the sender direction).</param>
    public static async Task<Outcome> RunAsync(string ns, IPEndPoint server, int clients, long bytesPerClient, TimeSpan timeout, bool receive, CancellationToken cancellationToken)
    {
        var started = new long[clients];
        var ended = new long[clients];
        var sent = new long[clients];
        var errors = new string?[clients];
        var sockets = new Socket?[clients];
        using var barrier = new Barrier(clients);
        var threads = new Thread[clients];
        for (int i = 0; i < clients; i++)
        {
            int index = i;
            threads[i] = new Thread(() => Client(index)) { IsBackground = true, Name = $"bench client {i}" };
            threads[i].Start();
        }

        var all = Task.Run(() =>
        {
            foreach (var thread in threads)
            {
                thread.Join();
            }
        }, CancellationToken.None);
        var finished = await Task.WhenAny(all, Task.Delay(timeout, cancellationToken)).ConfigureAwait(false);
        string? stopped = null;
        if (finished != all)
        {
            stopped = cancellationToken.IsCancellationRequested ? "cancelled" : $"timeout after {timeout.TotalSeconds:0} s";
            // Shut the sockets down under the blocked clients; a client that still does not return is a background
            // thread and is left behind rather than waited for.
            foreach (var socket in sockets)
            {
                Abort(socket);
            }
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
        }
        cancellationToken.ThrowIfCancellationRequested();

        long total = sent.Sum();
        long first = started.Where(t => t != 0).DefaultIfEmpty(0).Min();
        long last = ended.Max();
        string? error = stopped ?? errors.FirstOrDefault(e => e is not null);
        var wall = error is null && first != 0 ? Stopwatch.GetElapsedTime(first, last) : TimeSpan.Zero;
        return new Outcome(total, wall, error);

        void Client(int i)
        {
            if (!EnterAndWait(ns, barrier, errors, i))
            {
                return;
            }
            try
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets[i] = socket;
                socket.SendTimeout = socket.ReceiveTimeout = (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds);
                started[i] = Stopwatch.GetTimestamp();
                socket.Connect(server);
                if (receive)
                {
                    // Counts what arrives into one buffer until the server closes, then closes.
                    byte[] buffer = GC.AllocateUninitializedArray<byte>(1 << 20);
                    int n;
                    while ((n = socket.Receive(buffer)) > 0)
                    {
                        sent[i] += n;
                    }
                    ended[i] = Stopwatch.GetTimestamp();
                    return;
                }
                long left = bytesPerClient;
                while (left > 0)
                {
                    int n = socket.Send(s_zeros, 0, (int)Math.Min(left, s_zeros.Length), SocketFlags.None);
                    left -= n;
                    sent[i] += n;
                }
                socket.Shutdown(SocketShutdown.Send);
                // The server closes once it has read everything: that is when this client is done.
                Span<byte> scratch = stackalloc byte[64];
                while (socket.Receive(scratch) > 0)
                {
                }
                ended[i] = Stopwatch.GetTimestamp();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                errors[i] = $"client {i}: {e.Message}";
            }
            finally
            {
                sockets[i]?.Dispose();
            }
        }
    }

    /// <summary>
    /// A client thread's start: into namespace <paramref name="ns"/>, then at <paramref name="barrier"/> until every client
    /// is there, so they start together. False, with the error in <paramref name="errors"/>[<paramref name="i"/>], when it could not enter.
    /// </summary>
    public static bool EnterAndWait(string ns, Barrier barrier, string?[] errors, int i)
    {
        try
        {
            NamespaceEntry.EnterOnThisThread(ns);
        }
        catch (IOException e)
        {
            errors[i] = e.Message;
            barrier.RemoveParticipant();
            return false;
        }
        barrier.SignalAndWait();
        return true;
    }

    /// <summary>
    /// N <c>dd if=/dev/zero bs=B count=C iflag=fullblock | nc -N ADDRESS PORT</c> pipelines in <paramref name="ns"/>,
    /// started at once; the time is from the first start to the last exit (nc -N returns once the server has closed).
    /// The bytes are what dd was asked to send when every pipeline succeeded; the sink's count is the check.
    /// </summary>
    public static async Task<Outcome> RunNcAsync(string ns, IPEndPoint server, int clients, long bytesPerClient, TimeSpan timeout, CancellationToken cancellationToken)
    {
        long block = bytesPerClient % (64L << 20) == 0 ? 64L << 20 : bytesPerClient % (1L << 20) == 0 ? 1L << 20 : bytesPerClient % 1024 == 0 ? 1024 : 1;
        string pipeline = $"dd if=/dev/zero bs={block} count={bytesPerClient / block} iflag=fullblock status=none | nc -N {server.Address} {server.Port}";
        var processes = new Process[clients];
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        long first = Stopwatch.GetTimestamp();
        try
        {
            for (int i = 0; i < clients; i++)
            {
                var start = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
                foreach (string argument in (string[])["netns", "exec", ns, "sh", "-c", pipeline])
                {
                    start.ArgumentList.Add(argument);
                }
                processes[i] = Process.Start(start) ?? throw new CliException("cannot start ip netns exec");
            }
            var errors = processes.Select(p => p.StandardError.ReadToEndAsync(bounded.Token)).ToArray();
            foreach (var process in processes)
            {
                _ = process.StandardOutput.ReadToEndAsync(bounded.Token);
            }
            await Task.WhenAll(processes.Select(p => p.WaitForExitAsync(bounded.Token))).ConfigureAwait(false);
            long last = Stopwatch.GetTimestamp();
            for (int i = 0; i < clients; i++)
            {
                if (processes[i].ExitCode != 0)
                {
                    string message = (await errors[i].ConfigureAwait(false)).Trim().ReplaceLineEndings(" ");
                    return new Outcome(0, TimeSpan.Zero, $"client {i}: dd | nc exit {processes[i].ExitCode}: {message}");
                }
            }
            return new Outcome(clients * bytesPerClient, Stopwatch.GetElapsedTime(first, last), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Outcome(0, TimeSpan.Zero, $"timeout after {timeout.TotalSeconds:0} s");
        }
        finally
        {
            foreach (var process in processes)
            {
                if (process is null)
                {
                    continue;
                }
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // Already ended.
                }
                process.Dispose();
            }
        }
    }
}
