namespace Unisharp.Net;

/// <summary>
/// Counters of the direct stack: frames in and out, drops by <see cref="DropReason"/>, and protocol events.
/// Written by the stack's I/O thread; reads from other threads see recent, not atomic-snapshot, values.
/// </summary>
public sealed class NetworkStatistics
{
    private readonly long[] _drops = new long[Enum.GetValues<DropReason>().Length];

    /// <summary>Frames taken from the device, whatever became of them.</summary>
    public long FramesReceived { get; internal set; }
    /// <summary>Frames the device accepted for sending.</summary>
    public long FramesTransmitted { get; internal set; }
    /// <summary>ARP requests sent to resolve a neighbour (address probes and announcements not counted).</summary>
    public long ArpRequestsSent { get; internal set; }
    /// <summary>ARP replies sent for our address.</summary>
    public long ArpRepliesSent { get; internal set; }
    /// <summary>ARP packets from another host claiming our address.</summary>
    public long AddressConflicts { get; internal set; }
    /// <summary>IPv4 datagrams rebuilt from fragments.</summary>
    public long DatagramsReassembled { get; internal set; }
    /// <summary>Fragments sent for datagrams larger than the MTU.</summary>
    public long FragmentsSent { get; internal set; }
    /// <summary>ICMP echo replies sent (pings answered).</summary>
    public long EchoRepliesSent { get; internal set; }
    /// <summary>ICMP echo replies received.</summary>
    public long EchoRepliesReceived { get; internal set; }
    /// <summary>ICMP destination unreachable errors sent (closed UDP ports, unknown protocols).</summary>
    public long IcmpUnreachableSent { get; internal set; }
    /// <summary>UDP datagrams delivered to a socket.</summary>
    public long UdpDatagramsReceived { get; internal set; }
    /// <summary>UDP datagrams handed to IPv4 for sending (DHCP messages included).</summary>
    public long UdpDatagramsSent { get; internal set; }
    /// <summary>Well-formed DHCP messages that reached the client (for it or not).</summary>
    public long DhcpMessagesReceived { get; internal set; }
    /// <summary>DHCP ACKs that gave or renewed a lease.</summary>
    public long DhcpLeasesAcquired { get; internal set; }

    /// <summary>IPv6 neighbor solicitations sent (resolution, probes, duplicate address detection).</summary>
    public long NeighborSolicitationsSent { get; internal set; }
    /// <summary>IPv6 neighbor advertisements sent for our addresses.</summary>
    public long NeighborAdvertisementsSent { get; internal set; }
    /// <summary>IPv6 router solicitations sent.</summary>
    public long RouterSolicitationsSent { get; internal set; }
    /// <summary>Valid IPv6 router advertisements received.</summary>
    public long RouterAdvertisementsReceived { get; internal set; }
    /// <summary>IPv6 addresses given up because duplicate address detection found another node with them.</summary>
    public long DuplicateAddresses { get; internal set; }

    /// <summary>How many frames or datagrams were dropped for <paramref name="reason"/>.</summary>
    public long Dropped(DropReason reason) => _drops[(int)reason];

    /// <summary>All drops, whatever the reason.</summary>
    public long TotalDropped
    {
        get
        {
            long total = 0;
            foreach (long n in _drops)
            {
                total += n;
            }
            return total;
        }
    }

    internal void Drop(DropReason reason) => _drops[(int)reason]++;

    public override string ToString()
    {
        var text = new System.Text.StringBuilder($"frames in {FramesReceived}, out {FramesTransmitted}; dropped {TotalDropped}");
        for (int i = 0; i < _drops.Length; i++)
        {
            if (_drops[i] != 0)
            {
                text.Append($"; {(DropReason)i} {_drops[i]}");
            }
        }
        return text.ToString();
    }
}
