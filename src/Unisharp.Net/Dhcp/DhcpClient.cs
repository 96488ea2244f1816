using System.Buffers.Binary;
using Unisharp.Devices;
using Unisharp.Logging;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Dhcp;

/// <summary>
/// The DHCP client state machine (RFC 2131 §4.4): DISCOVER, OFFER, REQUEST, ACK; renewal at T1 by
/// unicast, rebinding at T2 by broadcast, and the address given up when the lease expires.
/// Synchronous: <see cref="Poll"/> at <see cref="PollAt"/>, <see cref="Process"/> for each reply.
/// </summary>
internal sealed class DhcpClient
{
    /// <summary>RFC 2131 §4.1: the first retransmission after 4 s, doubling up to 64 s.</summary>
    public static readonly Duration FirstRetransmission = Duration.FromSeconds(4);
    public static readonly Duration MaxRetransmission = Duration.FromSeconds(64);
    /// <summary>RFC 2131 §4.4.5: in RENEWING and REBINDING, wait at least 60 s between requests (or until the next stage).</summary>
    public static readonly Duration MinRenewRetransmission = Duration.FromSeconds(60);
    /// <summary>RFC 2131 §3.1 step 5: after a DECLINE, wait at least 10 s before starting again.</summary>
    public static readonly Duration DeclineBackoff = Duration.FromSeconds(10);
    /// <summary>REQUESTs sent in REQUESTING before going back to INIT.</summary>
    public const int MaxRequestAttempts = 4;

    private const string Source = "dhcp";

    private readonly MacAddress _mac;
    private readonly IEntropy _entropy;
    private readonly Logger _log;
    private Instant _deadline = Instant.Never;
    private Instant _transactionStart;
    private Instant _requestSentAt;
    private int _attempts;
    private uint _xid;
    private Ipv4Address _offered;
    private Ipv4Address _server;
    private Ipv4Cidr _lease;
    private Instant _renewAt = Instant.Never;
    private Instant _rebindAt = Instant.Never;
    private Instant _expiresAt = Instant.Never;
    /// <summary>The lease's DNS server (option 6) as a number, 0 for none: apps read it from other threads.</summary>
    private volatile uint _dnsServer;

    public DhcpClient(MacAddress mac, IEntropy entropy, Logger log)
    {
        _mac = mac;
        _entropy = entropy;
        _log = log;
    }

    public DhcpState State { get; private set; } = DhcpState.Init;

    /// <summary>The leased address while BOUND, RENEWING or REBINDING.</summary>
    public Ipv4Cidr? Lease => State is DhcpState.Bound or DhcpState.Renewing or DhcpState.Rebinding ? _lease : null;

    /// <summary>The first DNS server the lease names (RFC 2132 §3.8), or null; safe to read from any thread.</summary>
    public Ipv4Address? DnsServer => _dnsServer is 0 ? null : new Ipv4Address(_dnsServer);

    public Instant RenewAt => _renewAt;
    public Instant RebindAt => _rebindAt;
    public Instant ExpiresAt => _expiresAt;

    /// <summary>Begins in INIT; the first DISCOVER goes out at the first poll at or after <paramref name="now"/>.</summary>
    public void Start(Instant now)
    {
        State = DhcpState.Init;
        _deadline = now;
    }

    public Instant PollAt() => _deadline;

    public void Poll(Instant now, IDhcpClientHost host)
    {
        if (now < _deadline)
        {
            return;
        }
        switch (State)
        {
            case DhcpState.Init:
                _xid = NextXid();
                _transactionStart = now;
                _attempts = 0;
                State = DhcpState.Selecting;
                SendDiscover(now, host);
                break;
            case DhcpState.Selecting:
                _attempts++;
                SendDiscover(now, host);
                break;
            case DhcpState.Requesting:
                if (++_attempts >= MaxRequestAttempts)
                {
                    _log.Debug(Source, $"no answer to REQUEST for {_offered}; starting over");
                    State = DhcpState.Init;
                    _deadline = now;
                    Poll(now, host);
                    return;
                }
                SendRequest(now, host);
                _deadline = now + Backoff(_attempts);
                break;
            case DhcpState.Bound:
                // RFC 2131 §4.4.5: at T1 ask the server that gave the lease, by unicast.
                _log.Debug(Source, $"renewing {_lease.Address} with {_server}");
                State = DhcpState.Renewing;
                _xid = NextXid();
                _transactionStart = now;
                SendRenewal(now, host);
                break;
            case DhcpState.Renewing:
                if (now >= _rebindAt)
                {
                    _log.Debug(Source, $"no answer from {_server}; rebinding {_lease.Address} with any server");
                    State = DhcpState.Rebinding;
                }
                SendRenewal(now, host);
                break;
            case DhcpState.Rebinding:
                if (now >= _expiresAt)
                {
                    _log.Warning(Source, $"lease of {_lease.Address} expired");
                    State = DhcpState.Init;
                    _deadline = now;
                    ClearLease();
                    host.OnLeaseLost();
                    Poll(now, host);
                    return;
                }
                SendRenewal(now, host);
                break;
        }
    }

    /// <summary>Handles a DHCP message that arrived on port 68.</summary>
    public void Process(in DhcpRepr message, Instant now, IDhcpClientHost host)
    {
        if (message.IsFromClient || message.TransactionId != _xid || message.ClientHardwareAddress != _mac)
        {
            return;
        }
        switch (State, message.MessageType)
        {
            case (DhcpState.Selecting, DhcpMessageType.Offer) when message.ServerIdentifier is not null && !message.YourAddress.IsUnspecified:
                // RFC 2131 §4.4.1: take the first acceptable offer.
                _offered = message.YourAddress;
                _server = message.ServerIdentifier.Value;
                _log.Debug(Source, $"offer of {_offered} from {_server}");
                State = DhcpState.Requesting;
                _attempts = 0;
                SendRequest(now, host);
                _deadline = now + Backoff(0);
                break;
            case (DhcpState.Requesting or DhcpState.Renewing or DhcpState.Rebinding, DhcpMessageType.Ack):
                Bind(message, now, host);
                break;
            case (DhcpState.Requesting or DhcpState.Renewing or DhcpState.Rebinding, DhcpMessageType.Nak):
                _log.Warning(Source, $"server {message.ServerIdentifier?.ToString() ?? "?"} refused the address; starting over");
                bool hadLease = State != DhcpState.Requesting;
                State = DhcpState.Init;
                _deadline = now;
                ClearLease();
                if (hadLease)
                {
                    host.OnLeaseLost();
                }
                break;
        }
    }

    /// <summary>
    /// The leased address is in use by another host (ARP conflict): RFC 2131 §3.1 step 5, send DECLINE,
    /// give the address up and start over after <see cref="DeclineBackoff"/>.
    /// </summary>
    public void Decline(Instant now, IDhcpClientHost host)
    {
        if (Lease is not { } lease)
        {
            return;
        }
        _log.Warning(Source, $"{lease.Address} is in use by another host; declining it");
        var decline = new DhcpRepr(DhcpMessageType.Decline, _xid, _mac, RequestedAddress: lease.Address, ServerIdentifier: _server);
        host.SendDhcp(decline, Ipv4Address.Any, Ipv4Address.Broadcast);
        State = DhcpState.Init;
        _deadline = now + DeclineBackoff;
        ClearLease();
        host.OnLeaseLost();
    }

    private void Bind(in DhcpRepr ack, Instant now, IDhcpClientHost host)
    {
        var address = ack.YourAddress;
        if (address.IsUnspecified)
        {
            return;
        }
        bool renewal = State != DhcpState.Requesting && address == _lease.Address;
        var start = _requestSentAt;
        uint leaseSeconds = ack.LeaseSeconds ?? 3600;
        if (ack.ServerIdentifier is { } server)
        {
            _server = server;
        }
        _lease = new Ipv4Cidr(address, PrefixLength(ack.SubnetMask, address));
        if (leaseSeconds == uint.MaxValue)
        {
            _renewAt = _rebindAt = _expiresAt = Instant.Never;
        }
        else
        {
            // RFC 2131 §4.4.5: T1 defaults to half the lease, T2 to 7/8; times count from when the request was sent.
            var lease = Duration.FromSeconds(leaseSeconds);
            _expiresAt = start + lease;
            _renewAt = start + (ack.RenewalSeconds is { } t1 ? Duration.FromSeconds(t1) : lease / 2);
            _rebindAt = start + (ack.RebindingSeconds is { } t2 ? Duration.FromSeconds(t2) : lease * 7 / 8);
            if (_renewAt > _rebindAt || _rebindAt > _expiresAt)
            {
                _renewAt = start + lease / 2;
                _rebindAt = start + lease * 7 / 8;
            }
        }
        // A renewal without option 6 keeps the server we had.
        if (ack.DnsServer is { IsUnspecified: false } dns)
        {
            _dnsServer = dns.Value;
        }
        State = DhcpState.Bound;
        _deadline = _renewAt;
        if (!renewal)
        {
            _log.Info(Source, $"leased {_lease} from {_server} for {leaseSeconds} s{(ack.Router is { } r ? $", gateway {r}" : "")}{(DnsServer is { } d ? $", DNS {d}" : "")}");
        }
        else
        {
            _log.Debug(Source, $"renewed {_lease} for {leaseSeconds} s");
        }
        host.OnLeaseAcquired(_lease, ack.Router);
    }

    private void SendDiscover(Instant now, IDhcpClientHost host)
    {
        var discover = new DhcpRepr(DhcpMessageType.Discover, _xid, _mac, Seconds(now), Broadcast: true);
        host.SendDhcp(discover, Ipv4Address.Any, Ipv4Address.Broadcast);
        _deadline = now + Backoff(_attempts);
    }

    private void SendRequest(Instant now, IDhcpClientHost host)
    {
        // RFC 2131 §4.3.2 (SELECTING): requested address and server identifier set, ciaddr zero.
        var request = new DhcpRepr(DhcpMessageType.Request, _xid, _mac, Seconds(now), Broadcast: true,
            RequestedAddress: _offered, ServerIdentifier: _server);
        _requestSentAt = now;
        host.SendDhcp(request, Ipv4Address.Any, Ipv4Address.Broadcast);
    }

    private void SendRenewal(Instant now, IDhcpClientHost host)
    {
        // RFC 2131 §4.3.2 (RENEWING / REBINDING): ciaddr set, no requested address or server identifier.
        bool rebinding = State == DhcpState.Rebinding;
        var request = new DhcpRepr(DhcpMessageType.Request, _xid, _mac, Seconds(now), ClientAddress: _lease.Address);
        _requestSentAt = now;
        host.SendDhcp(request, _lease.Address, rebinding ? Ipv4Address.Broadcast : _server);
        var stageEnd = rebinding ? _expiresAt : _rebindAt;
        var wait = Duration.Max((stageEnd - now) / 2, MinRenewRetransmission);
        _deadline = Instant.Min(now + wait, stageEnd);
    }

    private Duration Backoff(int attempt)
    {
        var delay = Duration.Min(FirstRetransmission * (1L << Math.Min(attempt, 5)), MaxRetransmission);
        // RFC 2131 §4.1: randomised by a uniform number in [-1 s, +1 s].
        Span<byte> random = stackalloc byte[4];
        _entropy.Fill(random);
        long jitter = (long)(BinaryPrimitives.ReadUInt32LittleEndian(random) % 2_000_001) - 1_000_000;
        return delay + Duration.FromMicroseconds(jitter);
    }

    private uint NextXid()
    {
        Span<byte> random = stackalloc byte[4];
        _entropy.Fill(random);
        return BinaryPrimitives.ReadUInt32LittleEndian(random);
    }

    private ushort Seconds(Instant now) => (ushort)Math.Clamp((now - _transactionStart).Microseconds / 1_000_000, 0, ushort.MaxValue);

    private void ClearLease()
    {
        _lease = default;
        _dnsServer = 0;
        _renewAt = _rebindAt = _expiresAt = Instant.Never;
    }

    /// <summary>The prefix of a contiguous subnet mask; without one, the classful default (RFC 2132 §3.3 leaves it to us).</summary>
    internal static int PrefixLength(Ipv4Address? mask, Ipv4Address address)
    {
        if (mask is { } m)
        {
            int ones = System.Numerics.BitOperations.LeadingZeroCount(~m.Value);
            if (ones == 32 || (m.Value << ones) == 0)
            {
                return ones;
            }
        }
        return (address.Value >> 24) switch
        {
            < 128 => 8,
            < 192 => 16,
            _ => 24,
        };
    }
}
