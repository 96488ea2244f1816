using System.Buffers.Binary;

namespace Unisharp.Net.Wire;

/// <summary>
/// A DHCP message as the client and a test server use it: the BOOTP fields and the options this stack reads.
/// </summary>
/// <param name="ServerAddress">siaddr: the next server (not the DHCP server's identity; that is <paramref name="ServerIdentifier"/>).</param>
/// <param name="LeaseSeconds">Option 51; 0xFFFFFFFF is an infinite lease.</param>
internal readonly record struct DhcpRepr(
    DhcpMessageType MessageType,
    uint TransactionId,
    MacAddress ClientHardwareAddress,
    ushort Seconds = 0,
    bool Broadcast = false,
    Ipv4Address ClientAddress = default,
    Ipv4Address YourAddress = default,
    Ipv4Address ServerAddress = default,
    Ipv4Address RelayAddress = default,
    Ipv4Address? SubnetMask = null,
    Ipv4Address? Router = null,
    Ipv4Address? DnsServer = null,
    Ipv4Address? RequestedAddress = null,
    Ipv4Address? ServerIdentifier = null,
    uint? LeaseSeconds = null,
    uint? RenewalSeconds = null,
    uint? RebindingSeconds = null)
{
    public const ushort ServerPort = 67;
    public const ushort ClientPort = 68;

    /// <summary>RFC 1542 §3.2.1: relays may drop BOOTP messages shorter than 300 bytes, so we pad to it.</summary>
    public const int MinLength = 300;

    public const byte BootRequest = 1;
    public const byte BootReply = 2;

    /// <summary>What the client asks for in option 55.</summary>
    private static ReadOnlySpan<byte> RequestedParameters =>
        [DhcpOption.SubnetMask, DhcpOption.Router, DhcpOption.DomainNameServer, DhcpOption.LeaseTime, DhcpOption.RenewalTime, DhcpOption.RebindingTime];

    public bool IsFromClient => MessageType is DhcpMessageType.Discover or DhcpMessageType.Request or DhcpMessageType.Decline
        or DhcpMessageType.Release or DhcpMessageType.Inform;

    public int BufferLength => Math.Max(MinLength, DhcpPacket.FixedLength + OptionsLength + 1);

    private int OptionsLength =>
        3
        + (SubnetMask is null ? 0 : 6) + (Router is null ? 0 : 6) + (DnsServer is null ? 0 : 6)
        + (RequestedAddress is null ? 0 : 6) + (ServerIdentifier is null ? 0 : 6)
        + (LeaseSeconds is null ? 0 : 6) + (RenewalSeconds is null ? 0 : 6) + (RebindingSeconds is null ? 0 : 6)
        + (IsFromClient ? 2 + RequestedParameters.Length : 0);

    public static WireError TryParse(Span<byte> buffer, out DhcpRepr repr)
    {
        repr = default;
        var error = DhcpPacket.TryCreate(buffer, out var packet);
        if (error != WireError.None)
        {
            return error;
        }
        if (packet.HardwareType != 1 || packet.HardwareLength != MacAddress.Length || packet.Op is not (BootRequest or BootReply))
        {
            return WireError.Unsupported;
        }
        DhcpMessageType? type = null;
        Ipv4Address? mask = null, router = null, dns = null, requested = null, server = null;
        uint? lease = null, renewal = null, rebinding = null;
        var options = packet.Options;
        int i = 0;
        bool ended = false;
        while (i < options.Length)
        {
            byte code = options[i++];
            if (code == DhcpOption.Pad)
            {
                continue;
            }
            if (code == DhcpOption.End)
            {
                ended = true;
                break;
            }
            if (i >= options.Length)
            {
                return WireError.BadLength;
            }
            int length = options[i++];
            if (i + length > options.Length)
            {
                return WireError.BadLength;
            }
            var value = options.Slice(i, length);
            i += length;
            switch (code)
            {
                case DhcpOption.MessageType:
                    if (length != 1 || value[0] is 0 or > (byte)DhcpMessageType.Inform)
                    {
                        return WireError.BadField;
                    }
                    type = (DhcpMessageType)value[0];
                    break;
                case DhcpOption.SubnetMask:
                    if (!ReadAddress(value, out mask, exact: true))
                    {
                        return WireError.BadField;
                    }
                    break;
                case DhcpOption.Router:
                    // RFC 2132 §3.5: a list of routers in order of preference; we take the first.
                    if (!ReadAddress(value, out router, exact: false))
                    {
                        return WireError.BadField;
                    }
                    break;
                case DhcpOption.DomainNameServer:
                    if (!ReadAddress(value, out dns, exact: false))
                    {
                        return WireError.BadField;
                    }
                    break;
                case DhcpOption.RequestedAddress:
                    if (!ReadAddress(value, out requested, exact: true))
                    {
                        return WireError.BadField;
                    }
                    break;
                case DhcpOption.ServerIdentifier:
                    if (!ReadAddress(value, out server, exact: true))
                    {
                        return WireError.BadField;
                    }
                    break;
                case DhcpOption.LeaseTime:
                    if (!ReadSeconds(value, out lease))
                    {
                        return WireError.BadField;
                    }
                    break;
                case DhcpOption.RenewalTime:
                    if (!ReadSeconds(value, out renewal))
                    {
                        return WireError.BadField;
                    }
                    break;
                case DhcpOption.RebindingTime:
                    if (!ReadSeconds(value, out rebinding))
                    {
                        return WireError.BadField;
                    }
                    break;
                default:
                    // Options we do not use are skipped (RFC 2131 §4.1: unknown options are ignored).
                    break;
            }
        }
        // RFC 2131 §4.1: the options field ends with the end option; a message without a type is plain BOOTP.
        if (!ended)
        {
            return WireError.BadLength;
        }
        if (type is null)
        {
            return WireError.Unsupported;
        }
        repr = new DhcpRepr(type.Value, packet.TransactionId, packet.ClientHardwareAddress, packet.Seconds, packet.Broadcast,
            packet.ClientAddress, packet.YourAddress, packet.ServerAddress, packet.RelayAddress,
            mask, router, dns, requested, server, lease, renewal, rebinding);
        return WireError.None;
    }

    public void Emit(Span<byte> buffer)
    {
        buffer = buffer[..BufferLength];
        var packet = new DhcpPacket(buffer);
        packet.SetFixed(IsFromClient ? BootRequest : BootReply, TransactionId, Seconds, Broadcast, ClientAddress, YourAddress,
            ServerAddress, RelayAddress, ClientHardwareAddress);
        var options = packet.Options;
        options.Clear();
        int i = 0;
        options[i++] = DhcpOption.MessageType;
        options[i++] = 1;
        options[i++] = (byte)MessageType;
        WriteAddress(options, ref i, DhcpOption.RequestedAddress, RequestedAddress);
        WriteAddress(options, ref i, DhcpOption.ServerIdentifier, ServerIdentifier);
        WriteAddress(options, ref i, DhcpOption.SubnetMask, SubnetMask);
        WriteAddress(options, ref i, DhcpOption.Router, Router);
        WriteAddress(options, ref i, DhcpOption.DomainNameServer, DnsServer);
        WriteSeconds(options, ref i, DhcpOption.LeaseTime, LeaseSeconds);
        WriteSeconds(options, ref i, DhcpOption.RenewalTime, RenewalSeconds);
        WriteSeconds(options, ref i, DhcpOption.RebindingTime, RebindingSeconds);
        if (IsFromClient)
        {
            options[i++] = DhcpOption.ParameterRequestList;
            options[i++] = (byte)RequestedParameters.Length;
            RequestedParameters.CopyTo(options[i..]);
            i += RequestedParameters.Length;
        }
        options[i] = DhcpOption.End;
    }

    private static bool ReadAddress(ReadOnlySpan<byte> value, out Ipv4Address? address, bool exact)
    {
        address = null;
        if (value.Length < 4 || value.Length % 4 != 0 || (exact && value.Length != 4))
        {
            return false;
        }
        address = Ipv4Address.Read(value);
        return true;
    }

    private static bool ReadSeconds(ReadOnlySpan<byte> value, out uint? seconds)
    {
        seconds = value.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(value) : null;
        return seconds is not null;
    }

    private static void WriteAddress(Span<byte> options, ref int i, byte code, Ipv4Address? address)
    {
        if (address is { } a)
        {
            options[i++] = code;
            options[i++] = 4;
            a.Write(options[i..]);
            i += 4;
        }
    }

    private static void WriteSeconds(Span<byte> options, ref int i, byte code, uint? seconds)
    {
        if (seconds is { } s)
        {
            options[i++] = code;
            options[i++] = 4;
            BinaryPrimitives.WriteUInt32BigEndian(options[i..], s);
            i += 4;
        }
    }
}
