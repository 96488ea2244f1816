using System.Buffers.Binary;
using Unisharp.Devices;
using Unisharp.Logging;
using Unisharp.Net;
using Unisharp.Net.Dns;
using static Unisharp.Fuzz.FuzzTargets;

namespace Unisharp.Fuzz;

/// <summary>
/// The stub resolver (<see cref="DnsResolver"/>) answered by the fuzzer. Input: one byte (its low two bits pick the
/// name to resolve, bit 2 asks a second time after bits 3..7 seconds, from the cache or not), then answers as
/// [length u16][bytes]…, each given to the next receive on the query's UDP socket, or read from the TCP connection when
/// the resolver falls back to TCP. An answer's bytes 0..1 (over TCP, 2..3, after the length prefix) are replaced by
/// the query's random ID, so mutations reach past the ID check. When the answers run out, every wait times out at once.
/// </summary>
/// <remarks>
/// The fake stack completes everything synchronously and the clock's sleeps end at once, so a run is deterministic and
/// single-threaded. The resolver may fail only with a <see cref="NetworkException"/>; what it returns must be addresses
/// and, asked again before any TTL could pass, the same ones.
/// </remarks>
internal sealed class DnsResolverTarget : IStack, IUdp, ITcp, IClock
{
    private static readonly string[] s_names = ["svc.test", "alias.test", "nx.test", "many.test"];

    private readonly byte[] _input;
    private int _at = 1;
    private ushort _id;
    private Instant _now = Instant.FromMilliseconds(1000);

    private DnsResolverTarget(byte[] input) => _input = input;

    /// <summary>What the last run's resolutions gave, one per line (for tests and a verbose replay).</summary>
    public static string Summary { get; private set; } = "";

    public static void Run(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }
        var target = new DnsResolverTarget(input);
        var resolver = new DnsResolver(target, target, new SeededEntropy(1), () => Fixed.Server, new Logger(LogLevel.Quiet));
        string name = s_names[input[0] & 3];
        Summary = "";
        var first = Resolve(resolver, name);
        if ((input[0] & 4) == 0)
        {
            return;
        }
        // Asked again later: when no query went out, the answer came from the cache and must be the first one.
        target._now += Duration.FromSeconds(input[0] >> 3);
        long queries = resolver.UdpQueriesSent + resolver.TcpQueriesSent;
        var second = Resolve(resolver, name);
        if (resolver.UdpQueriesSent + resolver.TcpQueriesSent == queries && first is not null)
        {
            Check(second is not null && first.SequenceEqual(second), "dns-resolver: a cached answer differs from the one cached");
        }
    }

    private static IReadOnlyList<Ipv4Address>? Resolve(DnsResolver resolver, string name)
    {
        var task = resolver.ResolveAsync(name);
        Check(task.IsCompleted, "dns-resolver: the resolution did not end although every wait ends at once");
        string queries = $"{resolver.UdpQueriesSent} UDP and {resolver.TcpQueriesSent} TCP queries so far";
        try
        {
            var addresses = task.GetAwaiter().GetResult();
            Check(addresses.Count > 0, "dns-resolver: resolved to no address");
            Summary += $"{name}: {addresses.Count} addresses, {addresses[0]} first ({queries})\n";
            return addresses;
        }
        catch (NetworkException e)
        {
            // No answer, no such name, a malformed answer...: a resolution may fail, only with this.
            Summary += $"{name}: {e.Error} ({queries})\n";
            return null;
        }
    }

    /// <summary>The next answer of the input, its ID made the query's at <paramref name="idAt"/>; null when none is left.</summary>
    private byte[]? NextAnswer(int idAt)
    {
        if (_at + 2 > _input.Length)
        {
            return null;
        }
        int length = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(_input.AsSpan(_at)), _input.Length - _at - 2);
        byte[] answer = _input.AsSpan(_at + 2, length).ToArray();
        _at += 2 + length;
        if (answer.Length >= idAt + 2)
        {
            BinaryPrimitives.WriteUInt16BigEndian(answer.AsSpan(idAt), _id);
        }
        return answer;
    }

    private void Sent(ReadOnlySpan<byte> query, int idAt)
    {
        if (query.Length >= idAt + 2)
        {
            _id = BinaryPrimitives.ReadUInt16BigEndian(query[idAt..]);
        }
    }

    ITcp IStack.Tcp => this;

    IUdp IStack.Udp => this;

    Ipv4Address IStack.Address => Fixed.Client;

    ValueTask IAsyncDisposable.DisposeAsync() => ValueTask.CompletedTask;

    IUdpSocket IUdp.Bind(ushort port) => new UdpSocket(this);

    ITcpListener ITcp.Listen(ushort port, int backlog) => throw new NotSupportedException("the resolver does not listen");

    ValueTask<ITcpConnection> ITcp.ConnectAsync(Ipv4Endpoint remote, CancellationToken cancellationToken) =>
        ValueTask.FromResult<ITcpConnection>(new TcpConnection(this, remote));

    Instant IClock.Now => _now;

    DateTimeOffset IClock.WallNow => DateTimeOffset.UnixEpoch;

    Task IClock.SleepAsync(Duration duration, CancellationToken cancellationToken) => Task.CompletedTask;

    private sealed class UdpSocket(DnsResolverTarget target) : IUdpSocket
    {
        public Ipv4Endpoint LocalEndpoint => new(Fixed.Client, 49152);

        public ValueTask<UdpReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            byte[]? answer = target.NextAnswer(0);
            if (answer is null)
            {
                // Nothing more comes: the receive ends only when the resolver gives up waiting.
                return new ValueTask<UdpReceiveResult>(Never(cancellationToken));
            }
            int length = Math.Min(answer.Length, buffer.Length);
            answer.AsSpan(0, length).CopyTo(buffer.Span);
            return ValueTask.FromResult(new UdpReceiveResult(length, new Ipv4Endpoint(Fixed.Server, 53)));
        }

        public ValueTask SendAsync(ReadOnlyMemory<byte> payload, Ipv4Endpoint remote, CancellationToken cancellationToken = default)
        {
            Check(remote == new Ipv4Endpoint(Fixed.Server, 53), "dns-resolver: a query to another server than the one given");
            target.Sent(payload.Span, 0);
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private static async Task<UdpReceiveResult> Never(CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            return default;
        }
    }

    private sealed class TcpConnection(DnsResolverTarget target, Ipv4Endpoint remote) : ITcpConnection
    {
        private byte[]? _stream;
        private int _read;

        public Ipv4Endpoint LocalEndpoint => new(Fixed.Client, 49153);

        public Ipv4Endpoint RemoteEndpoint => remote;

        public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _stream ??= target.NextAnswer(2) ?? [];
            int n = Math.Min(buffer.Length, _stream.Length - _read);
            _stream.AsSpan(_read, n).CopyTo(buffer.Span);
            _read += n;
            return ValueTask.FromResult(n);
        }

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            target.Sent(data.Span, 2);
            return ValueTask.CompletedTask;
        }

        public ValueTask ShutdownWriteAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public void Abort()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Addresses apart, so that looking the target up runs no instrumented code (see <see cref="FuzzTargets"/>).</summary>
    private static class Fixed
    {
        public static readonly Ipv4Address Client = new(0xC6120002);
        public static readonly Ipv4Address Server = new(0xC6120035);
    }
}
