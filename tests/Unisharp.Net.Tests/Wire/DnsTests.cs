using Unisharp.Devices;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Tests.Wire;

/// <summary>
/// DNS messages: golden bytes captured from dig-style queries to dnsmasq 2.90 (CaptureScripts/capture-dns.py, run in a
/// namespace with <c>--address=/svc.test/198.18.0.1 --cname=alias.test,svc.test --local=/test/</c>), hand-made
/// malformed names, and random and mutated messages that must never throw.
/// </summary>
public class DnsTests
{
    private static readonly Ipv4Address s_svc = Ipv4Address.Parse("198.18.0.1");

    /// <summary>Query for svc.test A, ID 0x1234, RD.</summary>
    internal static readonly byte[] QuerySvc = Convert.FromHexString("1234010000010000000000000373766304746573740000010001");

    /// <summary>dnsmasq's answer: QR AA RD RA, svc.test A 198.18.0.1 TTL 0, the name compressed to the question's (0xc00c).</summary>
    internal static readonly byte[] AnswerSvc = Convert.FromHexString(
        "1234858000010001000000000373766304746573740000010001c00c00010001000000000004c6120001");

    /// <summary>dnsmasq's answer for alias.test: only the CNAME to svc.test (its target's A left for another query).</summary>
    internal static readonly byte[] AnswerAlias = Convert.FromHexString(
        "23458580000100010000000005616c69617304746573740000010001c00c0005000100000000000a03737663047465737400");

    /// <summary>dnsmasq's NXDOMAIN for nothing.test (a --local domain), without an SOA.</summary>
    internal static readonly byte[] AnswerNothing = Convert.FromHexString("345681830001000000000000076e6f7468696e6704746573740000010001");

    [Fact]
    public void View_CapturedAnswer_ReadsHeader()
    {
        Assert.Equal(WireError.None, DnsPacket.TryCreate(AnswerSvc.ToArray(), out var packet));
        Assert.Equal(0x1234, packet.Id);
        Assert.True(packet.IsResponse);
        Assert.True(packet.Authoritative);
        Assert.False(packet.Truncated);
        Assert.True(packet.RecursionDesired);
        Assert.True(packet.RecursionAvailable);
        Assert.Equal(DnsResponseCode.NoError, packet.ResponseCode);
        Assert.Equal((1, 1, 0, 0), (packet.QuestionCount, packet.AnswerCount, packet.AuthorityCount, packet.AdditionalCount));
    }

    [Fact]
    public void View_SetFields_WritesCapturedQueryHeader()
    {
        byte[] header = new byte[DnsPacket.HeaderLength];
        var packet = new DnsPacket(header);
        packet.Id = 0x1234;
        packet.Flags = DnsPacket.MakeFlags(false, 0, false, false, true, false, DnsResponseCode.NoError);
        packet.QuestionCount = 1;

        Assert.Equal(QuerySvc.AsSpan(0, DnsPacket.HeaderLength).ToArray(), header);
    }

    [Fact]
    public void Parse_CapturedAnswer_ReadsCompressedRecord()
    {
        Assert.Equal(WireError.None, DnsRepr.TryParse(AnswerSvc, out var answer));

        Assert.Equal(new DnsQuestion("svc.test", DnsRecordType.A), Assert.Single(answer!.Questions));
        var record = Assert.Single(answer.Answers);
        Assert.Equal(("svc.test", DnsRecordType.A, 0u, s_svc), (record.Name, record.Type, record.Ttl, record.Address));
    }

    [Fact]
    public void Parse_CapturedCNameAndNxDomain_ReadsTargetAndCode()
    {
        Assert.Equal(WireError.None, DnsRepr.TryParse(AnswerAlias, out var alias));
        var cname = Assert.Single(alias!.Answers);
        Assert.Equal((DnsRecordType.CName, "alias.test", "svc.test"), (cname.Type, cname.Name, cname.Target));

        Assert.Equal(WireError.None, DnsRepr.TryParse(AnswerNothing, out var nothing));
        Assert.Equal(DnsResponseCode.NameError, nothing!.ResponseCode);
        Assert.Empty(nothing.Answers);
    }

    [Fact]
    public void Emit_Query_MatchesCapturedQuery()
    {
        var query = DnsRepr.Query(0x1234, "svc.test", DnsRecordType.A);
        byte[] buffer = new byte[query.BufferLength];

        Assert.Equal(QuerySvc.Length, query.Emit(buffer));
        Assert.Equal(QuerySvc, buffer);
    }

    [Fact]
    public void Emit_ParsedAnswer_ReparsesToSameRecords()
    {
        // Emit writes names uncompressed, so the bytes differ from dnsmasq's; the content must not.
        Assert.Equal(WireError.None, DnsRepr.TryParse(AnswerAlias, out var alias));
        var soa = new DnsSoa("ns.test", "admin.test", 1, 2, 3, 4, 60);
        var message = alias! with { Authorities = [DnsRecord.SoaRecord("test", soa, 300)] };
        byte[] buffer = new byte[message.BufferLength];
        message.Emit(buffer);

        Assert.Equal(WireError.None, DnsRepr.TryParse(buffer, out var again));
        Assert.Equal(alias.Answers, again!.Answers);
        Assert.Equal(soa, Assert.Single(again.Authorities).Soa);
        // Header (but for the added authority's count) and question are byte for byte dnsmasq's.
        Assert.Equal(AnswerAlias.AsSpan(0, 8).ToArray(), buffer.AsSpan(0, 8).ToArray());
        Assert.Equal(1, buffer[9]);
        Assert.Equal(AnswerAlias.AsSpan(10, 18).ToArray(), buffer.AsSpan(10, 18).ToArray());
    }

    [Theory]
    [InlineData("c00c", "BadField")]            // a pointer to itself
    [InlineData("c00e", "BadField")]            // a pointer forward
    [InlineData("01 61 c00c", "BadField")]      // a label, then a pointer back to the name's own start
    [InlineData("40", "Unsupported")]           // an extended label type
    [InlineData("05 61 62", "Truncated")]       // a label past the end
    [InlineData("c0", "Truncated")]             // half a pointer
    [InlineData("", "Truncated")]               // no name at all
    public void ReadName_Malformed_Rejected(string hex, string expected)
    {
        byte[] message = [.. new byte[12], .. Convert.FromHexString(hex.Replace(" ", ""))];

        Assert.Equal(expected, DnsName.TryRead(message, 12, out _, out _).ToString());
    }

    [Fact]
    public void ReadName_PointerChainBackwards_Followed()
    {
        // "a" at 12; "b" then a pointer to 12 at 15; the name at 19 is a pointer to 15: b.a, by two pointers.
        byte[] chained = [.. new byte[12], 1, (byte)'a', 0, 1, (byte)'b', 0xC0, 12, 0xC0, 15];

        Assert.Equal(WireError.None, DnsName.TryRead(chained, 19, out string name, out int next));
        Assert.Equal(("b.a", 21), (name, next));
    }

    [Fact]
    public void ReadName_LongerThan255_Rejected()
    {
        var bytes = new List<byte>(new byte[12]);
        for (int i = 0; i < 5; i++)
        {
            bytes.Add(63);
            bytes.AddRange(Enumerable.Repeat((byte)'x', 63));
        }
        bytes.Add(0);

        Assert.Equal(WireError.BadLength, DnsName.TryRead(bytes.ToArray(), 12, out _, out _));
    }

    [Fact]
    public void ReadName_OddBytes_Escaped()
    {
        byte[] message = [.. new byte[12], 3, (byte)'a', (byte)'.', 7, 0];

        Assert.Equal(WireError.None, DnsName.TryRead(message, 12, out string name, out _));
        Assert.Equal(@"a\046\007", name);
    }

    [Theory]
    [InlineData("svc.test", 10)]
    [InlineData("svc.test.", 10)]
    [InlineData("", 1)]
    [InlineData("a..b", -1)]
    [InlineData("bad name", -1)]
    [InlineData("caf\u00e9.test", -1)]
    public void WireLength_Names(string name, int expected) => Assert.Equal(expected, DnsName.WireLength(name));

    [Fact]
    public void Parse_CountsBeyondMessage_Truncated()
    {
        byte[] message = AnswerSvc.ToArray();
        message[7] = 200; // ANCOUNT 200 in a 44-byte message

        Assert.Equal(WireError.Truncated, DnsRepr.TryParse(message, out _));
    }

    [Fact]
    public void Parse_RecordDataPastEnd_Truncated()
    {
        byte[] message = AnswerSvc.ToArray();
        message[^5] = 5; // RDLENGTH 5 with 4 bytes left

        Assert.Equal(WireError.Truncated, DnsRepr.TryParse(message, out _));
    }

    [Fact]
    public void Parse_CNameTargetOverrunningItsData_Rejected()
    {
        byte[] message = AnswerAlias.ToArray();
        message[^13] = 0; // RDLENGTH 10 -> 1: the target now runs past its record's data
        message[^12] = 1;

        Assert.NotEqual(WireError.None, DnsRepr.TryParse(message, out _));
    }

    [Theory]
    [InlineData(1UL, 100_000)]
    [InlineData(2UL, 100_000)]
    public void Parse_RandomAndMutatedMessages_NeverThrows(ulong seed, int count)
    {
        var random = new SeededEntropy(seed);
        byte[][] corpus = [QuerySvc, AnswerSvc, AnswerAlias, AnswerNothing];
        Span<byte> roll = stackalloc byte[4];
        int parsed = 0;
        for (int i = 0; i < count; i++)
        {
            random.Fill(roll);
            byte[] message;
            if (roll[0] < 32)
            {
                message = new byte[roll[1] % 64];
                random.Fill(message);
            }
            else
            {
                byte[] seedMessage = corpus[roll[1] % corpus.Length];
                message = seedMessage.AsSpan(0, Math.Max(0, seedMessage.Length - roll[2] % 4 * (roll[2] & 1))).ToArray();
                for (int flips = 1 + roll[3] % 4; flips > 0 && message.Length > 0; flips--)
                {
                    random.Fill(roll);
                    int at = (roll[0] | roll[1] << 8) % message.Length;
                    message[at] = roll[2] < 64 ? (byte)(0xC0 | roll[3] & 0x3F) : roll[3];
                }
            }
            // Only our error values may come out: never an exception.
            if (DnsRepr.TryParse(message, out var repr) == WireError.None)
            {
                parsed++;
                Assert.NotNull(repr);
            }
        }

        Assert.InRange(parsed, 1, count - 1);
    }
}
