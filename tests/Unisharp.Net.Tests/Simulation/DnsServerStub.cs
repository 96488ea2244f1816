using System.Buffers.Binary;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Simulation;

/// <summary>
/// An authoritative DNS server for simulations, on a manual stack's UDP and TCP port 53: answers from a zone of
/// records by name (CNAME targets' records included when <see cref="IncludeChain"/>), NXDOMAIN with an SOA for
/// other names; it can ignore the first queries or truncate every UDP answer. Its loops run inline in the
/// simulator's steps (a manual stack completes waits on the polling thread), so runs are deterministic.
/// </summary>
internal sealed class DnsServerStub
{
    public static readonly DnsSoa Soa = new("ns.test", "admin.test", 1, 3600, 600, 86400, 30);

    private readonly IUdpSocket _udp;
    private readonly ITcpListener _tcp;

    public DnsServerStub(DirectStack stack)
    {
        _udp = stack.Udp.Bind(DnsRepr.Port);
        _tcp = stack.Tcp.Listen(DnsRepr.Port);
        _ = ServeUdpAsync();
        _ = ServeTcpAsync();
    }

    /// <summary>Records by owner name; the answer for a name is its list.</summary>
    public Dictionary<string, List<DnsRecord>> Zone { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether an answer goes on to the records of the CNAME targets it holds (as a recursive server does).</summary>
    public bool IncludeChain { get; set; } = true;

    /// <summary>UDP queries to ignore before answering (as if lost).</summary>
    public int IgnoreFirst { get; set; }

    /// <summary>Answer every UDP query with an empty, truncated answer, so the client asks again over TCP.</summary>
    public bool TruncateUdp { get; set; }

    /// <summary>Before each UDP answer, send decoys: a wrong ID, another question, a malformed datagram (all with a bad address).</summary>
    public bool SendDecoysFirst { get; set; }

    public static readonly Ipv4Address DecoyAddress = Ipv4Address.Parse("198.18.66.66");

    public int UdpQueries { get; private set; }
    public int TcpQueries { get; private set; }

    public void Add(DnsRecord record)
    {
        if (!Zone.TryGetValue(record.Name, out var list))
        {
            Zone[record.Name] = list = [];
        }
        list.Add(record);
    }

    private DnsRepr Answer(DnsRepr query, bool truncate)
    {
        var question = query.Questions[0];
        var reply = query with { IsResponse = true, RecursionAvailable = true, Authoritative = true };
        if (truncate)
        {
            return reply with { Truncated = true };
        }
        if (!Zone.TryGetValue(question.Name, out var records))
        {
            return reply with { ResponseCode = DnsResponseCode.NameError, Authorities = [DnsRecord.SoaRecord("test", Soa, 60)] };
        }
        var answers = new List<DnsRecord>(records);
        for (int i = 0; IncludeChain && i < answers.Count && answers.Count < 64; i++)
        {
            if (answers[i].Type == DnsRecordType.CName && Zone.TryGetValue(answers[i].Target!, out var more))
            {
                answers.AddRange(more);
            }
        }
        return reply with { Answers = answers };
    }

    private async Task ServeUdpAsync()
    {
        byte[] buffer = new byte[4096];
        while (true)
        {
            UdpReceiveResult received;
            try
            {
                received = await _udp.ReceiveAsync(buffer).ConfigureAwait(false);
            }
            catch (NetworkException)
            {
                return;
            }
            UdpQueries++;
            if (IgnoreFirst > 0)
            {
                IgnoreFirst--;
                continue;
            }
            if (DnsRepr.TryParse(buffer.AsSpan(0, received.Length), out var query) != WireError.None || query!.Questions.Count != 1)
            {
                continue;
            }
            var answer = Answer(query, TruncateUdp);
            if (SendDecoysFirst)
            {
                var decoy = answer with { Answers = [DnsRecord.ARecord(query.Questions[0].Name, DecoyAddress, 300)] };
                foreach (var wrong in (DnsRepr[])[decoy with { Id = (ushort)(query.Id ^ 0x5555) },
                    decoy with { Questions = [new DnsQuestion("evil.test", DnsRecordType.A)], Answers = [DnsRecord.ARecord("evil.test", DecoyAddress, 300)] }])
                {
                    byte[] bytes = new byte[wrong.BufferLength];
                    wrong.Emit(bytes);
                    await _udp.SendAsync(bytes, received.Remote).ConfigureAwait(false);
                }
                await _udp.SendAsync(new byte[] { (byte)(query.Id >> 8), (byte)query.Id, 0x81, 0x80, 0xFF }, received.Remote).ConfigureAwait(false);
            }
            byte[] message = new byte[answer.BufferLength];
            answer.Emit(message);
            await _udp.SendAsync(message, received.Remote).ConfigureAwait(false);
        }
    }

    private async Task ServeTcpAsync()
    {
        while (true)
        {
            ITcpConnection connection;
            try
            {
                connection = await _tcp.AcceptAsync().ConfigureAwait(false);
            }
            catch (NetworkException)
            {
                return;
            }
            await using (connection.ConfigureAwait(false))
            {
                byte[] prefix = new byte[2];
                await ReadExactlyAsync(connection, prefix).ConfigureAwait(false);
                byte[] message = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                await ReadExactlyAsync(connection, message).ConfigureAwait(false);
                TcpQueries++;
                if (DnsRepr.TryParse(message, out var query) != WireError.None)
                {
                    continue;
                }
                var answer = Answer(query!, truncate: false);
                byte[] framed = new byte[2 + answer.BufferLength];
                BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)(framed.Length - 2));
                answer.Emit(framed.AsSpan(2));
                await connection.WriteAsync(framed).ConfigureAwait(false);
            }
        }
    }

    private static async Task ReadExactlyAsync(ITcpConnection connection, Memory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int n = await connection.ReadAsync(buffer).ConfigureAwait(false);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }
            buffer = buffer[n..];
        }
    }
}
