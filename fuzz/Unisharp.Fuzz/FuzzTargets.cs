using System.Buffers.Binary;
using System.Text;
using Unisharp.Hosting;
using Unisharp.Net;
using Unisharp.Net.Ip;
using Unisharp.Net.Wire;
using Unisharp.Targets.MicroVm;

namespace Unisharp.Fuzz;

/// <summary>
/// One entry point per parser, each taking the fuzzer's bytes: a target fails by throwing (AFL counts an escaping
/// exception as a crash), so every property checked here is an exception when it does not hold. Parsers must reject
/// malformed input with an error value; what they accept must emit back into a buffer of exactly its length and
/// parse again to the same value.
/// </summary>
internal static class FuzzTargets
{
    /// <summary>Every target by the name <c>fuzz/run</c> takes.</summary>
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["ethernet"] = Ethernet,
        ["arp"] = Arp,
        ["ipv4"] = Ipv4,
        ["ipv4-fragments"] = Ipv4Fragments,
        ["icmp"] = Icmp,
        ["udp"] = Udp,
        ["tcp"] = Tcp,
        ["dhcp"] = Dhcp,
        ["ipv6"] = Ipv6Target.Run,
        ["dns"] = DnsTargets.Message,
        ["dns-resolver"] = DnsResolverTarget.Run,
        ["boot-args"] = BootArgs,
        ["app-args-word"] = AppArgsWord,
        ["stack"] = StackTarget.Run,
    };

    public static void Ethernet(byte[] input)
    {
        if (EthernetRepr.TryParse(input, out var repr) != WireError.None)
        {
            return;
        }
        byte[] emitted = new byte[EthernetRepr.BufferLength];
        repr.Emit(emitted);
        Check(EthernetRepr.TryParse(emitted, out var again) == WireError.None && again == repr, "ethernet: emitted header does not parse back");
    }

    public static void Arp(byte[] input)
    {
        if (ArpRepr.TryParse(input, out var repr) != WireError.None)
        {
            return;
        }
        byte[] emitted = new byte[ArpRepr.BufferLength];
        repr.Emit(emitted);
        Check(ArpRepr.TryParse(emitted, out var again) == WireError.None && again == repr, "arp: emitted packet does not parse back");
    }

    public static void Ipv4(byte[] input)
    {
        bool checksummed = Ipv4Repr.TryParse(input, out _, out _, verifyChecksum: true) == WireError.None;
        if (Ipv4Repr.TryParse(input, out var repr, out var payload, verifyChecksum: false) != WireError.None)
        {
            Check(!checksummed, "ipv4: accepted with the checksum checked but not without");
            return;
        }
        Check(payload.Length == repr.PayloadLength, "ipv4: payload span and length disagree");
        byte[] emitted = new byte[repr.BufferLength];
        repr.Emit(emitted);
        Check(Ipv4Repr.TryParse(emitted, out var again, out _, verifyChecksum: true) == WireError.None && again == repr,
            "ipv4: emitted header does not parse back");
    }

    /// <summary>Input: fragments as [fragment field u16][length u8][bytes]…, all of one datagram, into one reassembly buffer.</summary>
    public static void Ipv4Fragments(byte[] input)
    {
        var buffer = new ReassemblyBuffer(capacity: 4, maxBytes: 64 * 1024);
        var now = Instant.Zero;
        int at = 0;
        while (at + 3 <= input.Length)
        {
            ushort fragment = BinaryPrimitives.ReadUInt16BigEndian(input.AsSpan(at));
            int length = Math.Min(input[at + 2], input.Length - at - 3);
            var data = input.AsSpan(at + 3, length);
            at += 3 + length;
            // Two datagrams (the top bit of the field, which IPv4 reserves, picks the identification) to reach eviction.
            var ip = new Ipv4Repr(Fixed.Source, Fixed.Destination, IpProtocol.Udp, length, TimeToLive: 64,
                Identification: (ushort)(fragment >> 15), MoreFragments: (fragment & 0x2000) != 0, FragmentOffset: (fragment & 0x1FFF) * 8);
            var result = buffer.Add(ip, data, now);
            if (result == ReassemblyResult.Completed)
            {
                var datagram = buffer.TakeCompleted(out var header);
                Check(datagram.Length == header.PayloadLength, "reassembly: completed datagram and its header disagree");
            }
            Check(buffer.BytesHeld is >= 0 and <= 64 * 1024, "reassembly: bytes held out of bounds");
            Check(buffer.InProgress is >= 0 and <= 4, "reassembly: more datagrams than the capacity");
            now += Duration.FromMilliseconds(length);
            buffer.Expire(now);
        }
    }

    public static void Icmp(byte[] input)
    {
        if (Icmpv4Repr.TryParse(input, out var repr, out var data) != WireError.None)
        {
            return;
        }
        byte[] emitted = new byte[repr.BufferLength];
        repr.Emit(emitted, data);
        Check(Icmpv4Repr.TryParse(emitted, out var again, out var dataAgain) == WireError.None && again == repr && dataAgain.SequenceEqual(data),
            "icmp: emitted message does not parse back");
    }

    public static void Udp(byte[] input)
    {
        if (UdpRepr.TryParse(input, Fixed.Source, Fixed.Destination, out var repr, out var payload, verifyChecksum: false) != WireError.None)
        {
            return;
        }
        byte[] emitted = new byte[repr.BufferLength];
        repr.Emit(emitted, payload, Fixed.Source, Fixed.Destination);
        Check(UdpRepr.TryParse(emitted, Fixed.Source, Fixed.Destination, out var again, out var payloadAgain) == WireError.None && again == repr
            && payloadAgain.SequenceEqual(payload), "udp: emitted datagram does not parse back");
    }

    public static void Tcp(byte[] input)
    {
        if (TcpRepr.TryParse(input, Fixed.Source, Fixed.Destination, out var repr, out var payload, verifyChecksum: false) != WireError.None)
        {
            return;
        }
        byte[] emitted = new byte[repr.BufferLength];
        repr.Emit(emitted, payload, Fixed.Source, Fixed.Destination);
        Check(TcpRepr.TryParse(emitted, Fixed.Source, Fixed.Destination, out var again, out var payloadAgain) == WireError.None
            && again.Equals(repr) && payloadAgain.SequenceEqual(payload), "tcp: emitted segment does not parse back");
    }

    public static void Dhcp(byte[] input)
    {
        if (DhcpRepr.TryParse(input, out var repr) != WireError.None)
        {
            return;
        }
        byte[] emitted = new byte[repr.BufferLength];
        repr.Emit(emitted);
        Check(DhcpRepr.TryParse(emitted, out var again) == WireError.None && again.MessageType == repr.MessageType
            && again.TransactionId == repr.TransactionId, "dhcp: emitted message does not parse back");
    }

    /// <summary>Input: the words of a command line, separated by NUL bytes.</summary>
    public static void BootArgs(byte[] input)
    {
        string[] words = Encoding.UTF8.GetString(input).Split('\0');
        try
        {
            var parsed = BootArguments.Parse(Fixed.Declared, words);
            foreach (var argument in Fixed.Declared)
            {
                _ = parsed.IsGiven(argument);
            }
        }
        catch (BootArgumentException)
        {
            // A malformed command line is reported, which is what it should be.
        }
    }

    /// <summary>Input: the value of a <c>unisharp.args=</c> word; what decodes must encode back to the same arguments.</summary>
    public static void AppArgsWord(byte[] input)
    {
        List<string> arguments;
        try
        {
            arguments = AppArgumentsWord.Decode(Encoding.UTF8.GetString(input));
        }
        catch (FormatException)
        {
            return;
        }
        string? word = AppArgumentsWord.Encode(arguments);
        Check(word is not null && word.StartsWith(AppArgumentsWord.Prefix, StringComparison.Ordinal), "app-args: no word for arguments");
        var again = AppArgumentsWord.Decode(word![AppArgumentsWord.Prefix.Length..]);
        Check(again.SequenceEqual(arguments), "app-args: encoded word decodes to other arguments");
        Check(!word.Contains(' ', StringComparison.Ordinal), "app-args: the word has a space, so the kernel would split it");
    }

    internal static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(message);
        }
    }

    /// <summary>
    /// The targets' fixed values, apart so that looking a target up runs no code of the instrumented assemblies: that
    /// code writes to AFL's coverage map, which exists only once SharpFuzz's fork server has started.
    /// </summary>
    private static class Fixed
    {
        public static readonly Ipv4Address Source = new(0xC6120001);
        public static readonly Ipv4Address Destination = new(0xC6120002);

        public static readonly BootArgument[] Declared =
        [
            BootArgument.Int("count", 1, "a number", min: 0, max: 1000),
            BootArgument.Long("bytes", 0, "a long"),
            BootArgument.Port("port", 7, "a port"),
            BootArgument.Bool("verbose", false, "a flag"),
            BootArgument.String("greeting", "hi", "a string"),
            BootArgument.Ipv4Cidr("ipv4", "an address"),
            BootArgument.Ipv4Address("gateway", "a router"),
            BootArgument.Optional<Ipv4Endpoint>("peer", "an endpoint", "IP:PORT"),
            BootArgument.Of<MacAddress>("mac", MacAddress.Broadcast, "a MAC", "MAC"),
        ];
    }
}
