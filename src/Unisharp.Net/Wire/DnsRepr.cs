using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>
/// A whole DNS message (RFC 1035 §4.1): the header's fields and the four sections. <see cref="TryParse"/> reads
/// compressed names with loop and bounds checks and never throws on any input; <see cref="Emit"/> writes names
/// uncompressed.
/// </summary>
internal sealed record DnsRepr(
    ushort Id,
    bool IsResponse,
    DnsResponseCode ResponseCode,
    IReadOnlyList<DnsQuestion> Questions,
    IReadOnlyList<DnsRecord> Answers,
    IReadOnlyList<DnsRecord> Authorities,
    IReadOnlyList<DnsRecord> Additionals,
    bool RecursionDesired = true,
    bool RecursionAvailable = false,
    bool Authoritative = false,
    bool Truncated = false,
    byte Opcode = 0)
{
    public const ushort Port = 53;

    private const int QuestionFixedLength = 4;
    private const int RecordFixedLength = 10;
    private const int SoaFixedLength = 20;

    /// <summary>A standard query (opcode 0) for one name and type, recursion desired (RFC 1035 §4.1.1).</summary>
    public static DnsRepr Query(ushort id, string name, DnsRecordType type) =>
        new(id, false, DnsResponseCode.NoError, [new DnsQuestion(name, type)], [], [], []);

    /// <summary>The length <see cref="Emit"/> writes, or -1 when a name cannot be written (see <see cref="DnsName.WireLength"/>).</summary>
    public int BufferLength
    {
        get
        {
            int length = DnsPacket.HeaderLength;
            foreach (var question in Questions)
            {
                int name = DnsName.WireLength(question.Name);
                if (name < 0)
                {
                    return -1;
                }
                length += name + QuestionFixedLength;
            }
            foreach (var section in (ReadOnlySpan<IReadOnlyList<DnsRecord>>)[Answers, Authorities, Additionals])
            {
                foreach (var record in section)
                {
                    int name = DnsName.WireLength(record.Name);
                    int data = DataLength(record);
                    if (name < 0 || data < 0)
                    {
                        return -1;
                    }
                    length += name + RecordFixedLength + data;
                }
            }
            return length;
        }
    }

    public static WireError TryParse(ReadOnlySpan<byte> message, out DnsRepr? repr)
    {
        repr = null;
        if (message.Length < DnsPacket.HeaderLength)
        {
            return WireError.Truncated;
        }
        // DnsPacket views a writable span for emitting; here it only reads, so the input's span serves as one.
        var packet = new DnsPacket(System.Runtime.InteropServices.MemoryMarshal.CreateSpan(
            ref System.Runtime.InteropServices.MemoryMarshal.GetReference(message), message.Length));
        int offset = DnsPacket.HeaderLength;
        int questionCount = packet.QuestionCount;
        // Each question takes at least 5 bytes and each record 11: counts the message cannot hold are malformed,
        // and checking them first bounds the lists we allocate.
        long least = (long)questionCount * 5 + ((long)packet.AnswerCount + packet.AuthorityCount + packet.AdditionalCount) * 11;
        if (least > message.Length - offset)
        {
            return WireError.Truncated;
        }
        var questions = new List<DnsQuestion>(questionCount);
        for (int i = 0; i < questionCount; i++)
        {
            var error = DnsName.TryRead(message, offset, out string name, out offset);
            if (error != WireError.None)
            {
                return error;
            }
            if (offset + QuestionFixedLength > message.Length)
            {
                return WireError.Truncated;
            }
            var type = (DnsRecordType)BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
            ushort @class = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
            offset += QuestionFixedLength;
            questions.Add(new DnsQuestion(name, type, @class));
        }
        var answers = new List<DnsRecord>(packet.AnswerCount);
        var authorities = new List<DnsRecord>(packet.AuthorityCount);
        var additionals = new List<DnsRecord>(packet.AdditionalCount);
        foreach (var (list, count) in (ReadOnlySpan<(List<DnsRecord>, int)>)[(answers, packet.AnswerCount), (authorities, packet.AuthorityCount), (additionals, packet.AdditionalCount)])
        {
            for (int i = 0; i < count; i++)
            {
                var error = TryReadRecord(message, ref offset, out var record);
                if (error != WireError.None)
                {
                    return error;
                }
                list.Add(record);
            }
        }
        repr = new DnsRepr(packet.Id, packet.IsResponse, packet.ResponseCode, questions, answers, authorities, additionals,
            packet.RecursionDesired, packet.RecursionAvailable, packet.Authoritative, packet.Truncated, packet.Opcode);
        return WireError.None;
    }

    /// <summary>Writes the message into <paramref name="buffer"/>, which holds at least <see cref="BufferLength"/> bytes; returns that length.</summary>
    public int Emit(Span<byte> buffer)
    {
        int length = BufferLength;
        if (length < 0)
        {
            throw new InvalidOperationException("the message holds a name that cannot be written");
        }
        buffer = buffer[..length];
        var packet = new DnsPacket(buffer);
        packet.Id = Id;
        packet.Flags = DnsPacket.MakeFlags(IsResponse, Opcode, Authoritative, Truncated, RecursionDesired, RecursionAvailable, ResponseCode);
        packet.QuestionCount = (ushort)Questions.Count;
        packet.AnswerCount = (ushort)Answers.Count;
        packet.AuthorityCount = (ushort)Authorities.Count;
        packet.AdditionalCount = (ushort)Additionals.Count;
        int i = DnsPacket.HeaderLength;
        foreach (var question in Questions)
        {
            i += DnsName.Write(question.Name, buffer[i..]);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[i..], (ushort)question.Type);
            BinaryPrimitives.WriteUInt16BigEndian(buffer[(i + 2)..], question.Class);
            i += QuestionFixedLength;
        }
        foreach (var section in (ReadOnlySpan<IReadOnlyList<DnsRecord>>)[Answers, Authorities, Additionals])
        {
            foreach (var record in section)
            {
                i += DnsName.Write(record.Name, buffer[i..]);
                BinaryPrimitives.WriteUInt16BigEndian(buffer[i..], (ushort)record.Type);
                BinaryPrimitives.WriteUInt16BigEndian(buffer[(i + 2)..], record.Class);
                BinaryPrimitives.WriteUInt32BigEndian(buffer[(i + 4)..], record.Ttl);
                int data = DataLength(record);
                BinaryPrimitives.WriteUInt16BigEndian(buffer[(i + 8)..], (ushort)data);
                i += RecordFixedLength;
                WriteData(record, buffer.Slice(i, data));
                i += data;
            }
        }
        return i;
    }

    private static WireError TryReadRecord(ReadOnlySpan<byte> message, ref int offset, out DnsRecord record)
    {
        record = default;
        var error = DnsName.TryRead(message, offset, out string name, out offset);
        if (error != WireError.None)
        {
            return error;
        }
        if (offset + RecordFixedLength > message.Length)
        {
            return WireError.Truncated;
        }
        var type = (DnsRecordType)BinaryPrimitives.ReadUInt16BigEndian(message[offset..]);
        ushort @class = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 2)..]);
        uint ttl = BinaryPrimitives.ReadUInt32BigEndian(message[(offset + 4)..]);
        int dataLength = BinaryPrimitives.ReadUInt16BigEndian(message[(offset + 8)..]);
        offset += RecordFixedLength;
        if (offset + dataLength > message.Length)
        {
            return WireError.Truncated;
        }
        int dataStart = offset;
        var data = message.Slice(offset, dataLength);
        offset += dataLength;
        // RFC 2181 §8: a TTL with the top bit set is treated as zero.
        if (ttl > int.MaxValue)
        {
            ttl = 0;
        }
        switch (type)
        {
            case DnsRecordType.A when @class == DnsRecord.ClassInternet:
                if (dataLength != 4)
                {
                    return WireError.BadLength;
                }
                record = new DnsRecord(name, type, ttl, Address: Ipv4Address.Read(data), Class: @class);
                return WireError.None;
            case DnsRecordType.CName or DnsRecordType.NS or DnsRecordType.Ptr:
            {
                // The target may point back into the message; it must end inside this record's data.
                error = DnsName.TryRead(message[..(dataStart + dataLength)], dataStart, out string target, out int end);
                if (error != WireError.None)
                {
                    return error;
                }
                if (end != dataStart + dataLength)
                {
                    return WireError.BadLength;
                }
                record = new DnsRecord(name, type, ttl, Target: target, Class: @class);
                return WireError.None;
            }
            case DnsRecordType.Soa:
            {
                var within = message[..(dataStart + dataLength)];
                error = DnsName.TryRead(within, dataStart, out string primary, out int next);
                if (error == WireError.None)
                {
                    error = DnsName.TryRead(within, next, out string mailbox, out next);
                    if (error == WireError.None)
                    {
                        if (next + SoaFixedLength != dataStart + dataLength)
                        {
                            return WireError.BadLength;
                        }
                        var numbers = message[next..];
                        var soa = new DnsSoa(primary, mailbox, BinaryPrimitives.ReadUInt32BigEndian(numbers),
                            BinaryPrimitives.ReadUInt32BigEndian(numbers[4..]), BinaryPrimitives.ReadUInt32BigEndian(numbers[8..]),
                            BinaryPrimitives.ReadUInt32BigEndian(numbers[12..]), BinaryPrimitives.ReadUInt32BigEndian(numbers[16..]));
                        record = new DnsRecord(name, type, ttl, Soa: soa, Class: @class);
                    }
                }
                return error;
            }
            default:
                record = new DnsRecord(name, type, ttl, Data: data.ToArray(), Class: @class);
                return WireError.None;
        }
    }

    private static int DataLength(in DnsRecord record) => record.Type switch
    {
        DnsRecordType.A when record.Data is null => 4,
        DnsRecordType.CName or DnsRecordType.NS or DnsRecordType.Ptr when record.Target is { } target => DnsName.WireLength(target),
        DnsRecordType.Soa when record.Soa is { } soa =>
            DnsName.WireLength(soa.PrimaryServer) is int p and >= 0 && DnsName.WireLength(soa.Mailbox) is int m and >= 0 ? p + m + SoaFixedLength : -1,
        _ => record.Data is { } data && data.Length <= ushort.MaxValue ? data.Length : -1,
    };

    private static void WriteData(in DnsRecord record, Span<byte> data)
    {
        switch (record.Type)
        {
            case DnsRecordType.A when record.Data is null:
                record.Address.Write(data);
                break;
            case DnsRecordType.CName or DnsRecordType.NS or DnsRecordType.Ptr when record.Target is { } target:
                DnsName.Write(target, data);
                break;
            case DnsRecordType.Soa when record.Soa is { } soa:
                int i = DnsName.Write(soa.PrimaryServer, data);
                i += DnsName.Write(soa.Mailbox, data[i..]);
                BinaryPrimitives.WriteUInt32BigEndian(data[i..], soa.Serial);
                BinaryPrimitives.WriteUInt32BigEndian(data[(i + 4)..], soa.Refresh);
                BinaryPrimitives.WriteUInt32BigEndian(data[(i + 8)..], soa.Retry);
                BinaryPrimitives.WriteUInt32BigEndian(data[(i + 12)..], soa.Expire);
                BinaryPrimitives.WriteUInt32BigEndian(data[(i + 16)..], soa.Minimum);
                break;
            default:
                record.Data.CopyTo(data);
                break;
        }
    }
}
