using System.Buffers.Binary;
using Unisharp.Devices;
using Unisharp.Logging;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Dns;

/// <summary>
/// A stub resolver (RFC 1123 §6.1.3.1) over any <see cref="IStack"/>'s UDP and TCP: asks one server for A records
/// with recursion desired, follows CNAME chains (bounded), retries over UDP with a doubling timeout, repeats a
/// truncated query over TCP (RFC 7766 §5) and caches answers, negative ones included (RFC 2308), for their TTL.
/// </summary>
/// <remarks>
/// Async code on app threads; waits and timeouts use the injected <see cref="IClock"/>, so it runs unchanged in
/// virtual time. Each query binds its own ephemeral UDP port and a random ID (RFC 5452 §9.2).
/// </remarks>
internal sealed class DnsResolver : IDnsResolver
{
    private const string Source = "dns";

    /// <summary>RFC 1035 §2.3.4 caps UDP answers without EDNS at 512 bytes; room for servers that send more anyway.</summary>
    private const int ReceiveBufferLength = 4096;

    private readonly IStack _stack;
    private readonly IClock _clock;
    private readonly IEntropy _entropy;
    private readonly Func<Ipv4Address?> _server;
    private readonly Logger _log;
    private readonly DnsResolverSettings _settings;
    private readonly DnsCache _cache;

    /// <param name="server">The server to ask, read at each query (DHCP may supply it later); null when there is none.</param>
    public DnsResolver(IStack stack, IClock clock, IEntropy entropy, Func<Ipv4Address?> server, Logger log, DnsResolverSettings? settings = null)
    {
        _stack = stack;
        _clock = clock;
        _entropy = entropy;
        _server = server;
        _log = log;
        _settings = settings ?? new DnsResolverSettings();
        _cache = new DnsCache(_settings.CacheEntries);
    }

    internal DnsCache Cache => _cache;

    /// <summary>Queries sent over UDP (retries included), for tests and diagnostics.</summary>
    public long UdpQueriesSent => Interlocked.Read(ref _udpQueries);

    /// <summary>Queries repeated over TCP after a truncated UDP answer.</summary>
    public long TcpQueriesSent => Interlocked.Read(ref _tcpQueries);

    private long _udpQueries;
    private long _tcpQueries;

    public async ValueTask<IReadOnlyList<Ipv4Address>> ResolveAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Ipv4Address.TryParse(name, null, out var literal))
        {
            return [literal];
        }
        if (name.Length == 0 || name == "." || DnsName.WireLength(name) < 0)
        {
            throw new ArgumentException($"'{name}' is not a host name", nameof(name));
        }
        string key = name.TrimEnd('.');
        string current = key;
        // The answer lives as long as the shortest TTL along the chain.
        var ttl = _settings.MaxTtl;
        for (int hops = 0; ; )
        {
            if (_cache.TryGet(current, _clock.Now, out var cached))
            {
                if (cached.Addresses.Length > 0)
                {
                    return cached.Addresses;
                }
                throw NotFound(name, current, cached.NameMissing, fromCache: true);
            }
            var server = _server() ?? throw new NetworkException(NetworkError.NameResolutionFailed,
                $"cannot resolve {name}: no DNS server (give the boot argument --dns=ADDR, or get one by DHCP)");
            string asked = current;
            var response = await QueryAsync(server, asked, cancellationToken).ConfigureAwait(false);
            var now = _clock.Now;
            if (response.ResponseCode == DnsResponseCode.NameError)
            {
                CacheNegative(key, asked, response, nameMissing: true, now);
                throw NotFound(name, asked, nameMissing: true, fromCache: false, server);
            }
            if (response.ResponseCode != DnsResponseCode.NoError)
            {
                throw new NetworkException(NetworkError.NameResolutionFailed,
                    $"cannot resolve {name}: DNS server {server} answered {Describe(response.ResponseCode)}");
            }
            // RFC 1034 §5.3.3: the answer section holds the CNAME chain from the name asked, then its A records.
            var addresses = new List<Ipv4Address>();
            for (bool followed = true; followed; )
            {
                followed = false;
                foreach (var record in response.Answers)
                {
                    if (record.Class != DnsRecord.ClassInternet || !DnsName.Equal(record.Name, current))
                    {
                        continue;
                    }
                    if (record.Type == DnsRecordType.A)
                    {
                        addresses.Add(record.Address);
                        ttl = Duration.Min(ttl, Duration.FromSeconds(record.Ttl));
                    }
                    else if (record.Type == DnsRecordType.CName && record.Target is { } target && addresses.Count == 0)
                    {
                        if (++hops > _settings.MaxCNameHops)
                        {
                            throw new NetworkException(NetworkError.NameResolutionFailed,
                                $"cannot resolve {name}: more than {_settings.MaxCNameHops} CNAMEs (a loop?)");
                        }
                        if (DnsName.WireLength(target) < 0)
                        {
                            // A byte we do not send in names (read as \DDD): we could not ask for it.
                            throw new NetworkException(NetworkError.NameResolutionFailed,
                                $"cannot resolve {name}: the CNAME of {current} points to '{target}', a name that cannot be asked for");
                        }
                        ttl = Duration.Min(ttl, Duration.FromSeconds(record.Ttl));
                        current = target.TrimEnd('.');
                        followed = true;
                        break;
                    }
                }
            }
            if (addresses.Count > 0)
            {
                Ipv4Address[] result = [.. addresses];
                _cache.Add(key, new DnsCache.Entry(result, now + ttl, NameMissing: false), now);
                _log.Debug(Source, $"{name}: {string.Join(", ", result)} (TTL {ttl.TotalSeconds:0} s)");
                return result;
            }
            if (DnsName.Equal(current, asked))
            {
                // The name exists but has no A record (NODATA, RFC 2308 §2.2).
                CacheNegative(key, asked, response, nameMissing: false, now);
                throw NotFound(name, asked, nameMissing: false, fromCache: false, server);
            }
            // A CNAME whose target's records the server left out: ask for the target itself.
            _log.Debug(Source, $"{name}: following the CNAME to {current}");
        }
    }

    private void CacheNegative(string key, string current, DnsRepr response, bool nameMissing, Instant now)
    {
        // RFC 2308 §5: a negative answer is kept for the SOA's TTL, at most its MINIMUM; without an SOA, not at all.
        foreach (var record in response.Authorities)
        {
            if (record.Type == DnsRecordType.Soa && record.Soa is { } soa)
            {
                var ttl = Duration.Min(Duration.FromSeconds(Math.Min(record.Ttl, soa.Minimum)), _settings.MaxNegativeTtl);
                _cache.Add(key, new DnsCache.Entry([], now + ttl, nameMissing), now);
                if (!DnsName.Equal(key, current))
                {
                    _cache.Add(current, new DnsCache.Entry([], now + ttl, nameMissing), now);
                }
                return;
            }
        }
    }

    private static NetworkException NotFound(string name, string current, bool nameMissing, bool fromCache, Ipv4Address? server = null)
    {
        string via = DnsName.Equal(name, current) ? "" : $" (via CNAME {current})";
        string who = fromCache ? "cached answer" : $"from {server}";
        return new NetworkException(NetworkError.NameNotFound, nameMissing
            ? $"cannot resolve {name}{via}: no such name (NXDOMAIN, {who})"
            : $"cannot resolve {name}{via}: the name has no IPv4 address (no A record, {who})");
    }

    private static string Describe(DnsResponseCode code) => code switch
    {
        DnsResponseCode.FormatError => "FORMERR (it could not read the query)",
        DnsResponseCode.ServerFailure => "SERVFAIL (it could not get an answer)",
        DnsResponseCode.NotImplemented => "NOTIMP",
        DnsResponseCode.Refused => "REFUSED",
        _ => $"RCODE {(int)code}",
    };

    /// <summary>One question to the server: UDP with retries, then TCP when the answer came back truncated.</summary>
    private async ValueTask<DnsRepr> QueryAsync(Ipv4Address server, string name, CancellationToken cancellationToken)
    {
        ushort id = NextId();
        var query = DnsRepr.Query(id, name, DnsRecordType.A);
        byte[] message = new byte[query.BufferLength];
        query.Emit(message);
        var remote = new Ipv4Endpoint(server, DnsRepr.Port);
        byte[] buffer = new byte[ReceiveBufferLength];
        var timeout = _settings.Timeout;
        await using (var socket = _stack.Udp.Bind(0))
        {
            for (int attempt = 1; attempt <= _settings.Attempts; attempt++, timeout *= 2)
            {
                Interlocked.Increment(ref _udpQueries);
                await socket.SendAsync(message, remote, cancellationToken).ConfigureAwait(false);
                var response = await ReceiveAnswerAsync(socket, buffer, remote, query, timeout, cancellationToken).ConfigureAwait(false);
                if (response is null)
                {
                    _log.Debug(Source, $"no answer from {server} for {name} in {timeout.TotalSeconds:0.#} s (attempt {attempt} of {_settings.Attempts})");
                    continue;
                }
                if (response.Truncated)
                {
                    _log.Debug(Source, $"the answer for {name} was truncated; asking {server} over TCP");
                    return await QueryTcpAsync(remote, message, query, cancellationToken).ConfigureAwait(false);
                }
                return response;
            }
        }
        throw new NetworkException(NetworkError.TimedOut,
            $"cannot resolve {name}: DNS server {server} did not answer {_settings.Attempts} queries");
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the answer to <paramref name="query"/>; other datagrams are dropped. Null on timeout.</summary>
    private async ValueTask<DnsRepr?> ReceiveAnswerAsync(IUdpSocket socket, byte[] buffer, Ipv4Endpoint server, DnsRepr query,
        Duration timeout, CancellationToken cancellationToken)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var expired = _clock.SleepAsync(timeout, waiting.Token);
        try
        {
            while (true)
            {
                var receive = socket.ReceiveAsync(buffer, waiting.Token).AsTask();
                if (await Task.WhenAny(receive, expired).ConfigureAwait(false) != receive)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    return null;
                }
                var result = await receive.ConfigureAwait(false);
                if (result.Remote != server)
                {
                    continue;
                }
                var response = Match(buffer.AsSpan(0, result.Length), query);
                if (response is not null)
                {
                    return response;
                }
            }
        }
        finally
        {
            // Cancel, not CancelAsync: the callbacks (our own sleeper and receive) must end here, in order, not later on the pool.
            waiting.Cancel();
        }
    }

    /// <summary>The parsed answer when <paramref name="message"/> answers <paramref name="query"/> (ID and question, RFC 5452 §9.1); null otherwise.</summary>
    private DnsRepr? Match(ReadOnlySpan<byte> message, DnsRepr query)
    {
        var error = DnsRepr.TryParse(message, out var response);
        if (error != WireError.None)
        {
            // A truncated answer may be cut mid-record: its header is still worth reading for the TC bit.
            if (message.Length >= DnsPacket.HeaderLength && BinaryPrimitives.ReadUInt16BigEndian(message) == query.Id
                && (message[2] & 0x82) == 0x82)
            {
                return query with { IsResponse = true, Truncated = true };
            }
            _log.Debug(Source, $"dropped a malformed DNS answer ({error})");
            return null;
        }
        if (!response!.IsResponse || response.Id != query.Id)
        {
            return null;
        }
        // A server may leave the question out of an error answer (FORMERR, REFUSED); otherwise it must match.
        if (response.Questions.Count == 0)
        {
            return response.ResponseCode == DnsResponseCode.NoError ? null : response;
        }
        var asked = query.Questions[0];
        var echoed = response.Questions[0];
        return response.Questions.Count == 1 && echoed.Type == asked.Type && echoed.Class == asked.Class && DnsName.Equal(echoed.Name, asked.Name)
            ? response
            : null;
    }

    /// <summary>RFC 7766 §8: the query over TCP, framed by a two-byte length, with the answer likewise.</summary>
    private async ValueTask<DnsRepr> QueryTcpAsync(Ipv4Endpoint server, byte[] message, DnsRepr query, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _tcpQueries);
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var expired = _clock.SleepAsync(_settings.TcpTimeout, waiting.Token);
        var exchange = ExchangeTcpAsync(server, message, waiting.Token);
        try
        {
            if (await Task.WhenAny(exchange, expired).ConfigureAwait(false) != exchange)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new NetworkException(NetworkError.TimedOut,
                    $"cannot resolve {query.Questions[0].Name}: no answer over TCP from {server} in {_settings.TcpTimeout.TotalSeconds:0.#} s");
            }
            byte[] answer = await exchange.ConfigureAwait(false);
            var response = Match(answer, query);
            if (response is null || response.Truncated)
            {
                throw new NetworkException(NetworkError.NameResolutionFailed,
                    $"cannot resolve {query.Questions[0].Name}: the answer over TCP from {server} is malformed or does not match the query");
            }
            return response;
        }
        finally
        {
            // Cancel, not CancelAsync: the callbacks (our own sleeper and receive) must end here, in order, not later on the pool.
            waiting.Cancel();
            // The exchange ends by itself once cancelled; its failure then is of no interest.
            _ = exchange.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task<byte[]> ExchangeTcpAsync(Ipv4Endpoint server, byte[] message, CancellationToken cancellationToken)
    {
        var connection = await _stack.Tcp.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            byte[] framed = new byte[2 + message.Length];
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)message.Length);
            message.CopyTo(framed, 2);
            await connection.WriteAsync(framed, cancellationToken).ConfigureAwait(false);
            byte[] prefix = new byte[2];
            await ReadExactlyAsync(connection, prefix, cancellationToken).ConfigureAwait(false);
            byte[] answer = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
            await ReadExactlyAsync(connection, answer, cancellationToken).ConfigureAwait(false);
            return answer;
        }
    }

    private static async ValueTask ReadExactlyAsync(ITcpConnection connection, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            int n = await connection.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new NetworkException(NetworkError.ConnectionReset, "the DNS server closed the TCP connection before its whole answer");
            }
            buffer = buffer[n..];
        }
    }

    private ushort NextId()
    {
        Span<byte> random = stackalloc byte[2];
        _entropy.Fill(random);
        return BinaryPrimitives.ReadUInt16LittleEndian(random);
    }
}
