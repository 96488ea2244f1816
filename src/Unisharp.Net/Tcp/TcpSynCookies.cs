using System.Buffers.Binary;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Tcp;

/// <summary>
/// SYN cookies (RFC 4987 §3.6): while the half-open table is full, a SYN-ACK keeps no state; its ISN carries the
/// peer's MSS (an index into a table) under a keyed hash of the four-tuple, the peer's ISN and a coarse time counter,
/// and the ACK that returns it rebuilds the connection. When the SYN has timestamps, the low bits of our TSval carry
/// the peer's window scale and SACK-permitted (the ACK echoes them); without, the connection goes without both.
/// </summary>
internal sealed class TcpSynCookies(ulong key0, ulong key1)
{
    /// <summary>A step of the cookie clock; a cookie is good in the step it was made and the next one.</summary>
    private const long PeriodMicroseconds = 64_000_000;
    // ISN layout: bits 31-30 the counter modulo 4, bits 29-27 the MSS index, bits 26-0 the hash.
    private const int HashBits = 27;
    private const uint HashMask = (1u << HashBits) - 1;
    // TSval layout: bits 3-0 the peer's window scale (15: none), bit 4 SACK-permitted.
    private const uint OptionMask = 0x1F;
    private const uint NoScale = 0xF;
    private const uint SackBit = 0x10;

    /// <summary>Common MSS values (IPv4 over Ethernet with and without tunnels, jumbo frames); the largest at most the peer's is used.</summary>
    private static readonly ushort[] s_mss = [536, 1200, 1360, 1400, 1440, 1460, 4036, 8960];

    /// <summary>Our ISN for <paramref name="syn"/>; the MSS this connection will use is the table's entry at most the peer's.</summary>
    public SeqNum Isn(Ipv4Endpoint local, Ipv4Endpoint remote, in TcpRepr syn, Instant now)
    {
        int peerMss = syn.MaxSegmentSize ?? 536;
        int index = 0;
        while (index + 1 < s_mss.Length && s_mss[index + 1] <= peerMss)
        {
            index++;
        }
        long counter = now.Microseconds / PeriodMicroseconds;
        uint hash = Hash(local, remote, syn.SequenceNumber, counter, index);
        return new SeqNum(((uint)(counter & 3) << 30) | ((uint)index << HashBits) | hash);
    }

    /// <summary>Our SYN-ACK's TSval: <paramref name="clock"/> with the peer's options in its low bits, never ahead of the clock.</summary>
    public static uint Timestamp(uint clock, byte? scale, bool sackPermitted)
    {
        uint ts = (clock & ~OptionMask) | (scale ?? NoScale) | (sackPermitted ? SackBit : 0);
        return unchecked((int)(ts - clock)) > 0 ? unchecked(ts - (OptionMask + 1)) : ts;
    }

    /// <summary>
    /// Checks the cookie an ACK returns (its acknowledgment number less one) and rebuilds the SYN it answered, with
    /// the options the cookie kept. False for anything that is not a recent cookie of ours for this four-tuple.
    /// </summary>
    public bool TryOpen(Ipv4Endpoint local, Ipv4Endpoint remote, in TcpRepr ack, Instant now, out TcpRepr syn)
    {
        syn = default;
        uint cookie = (ack.AckNumber - 1).Value;
        var peerIsn = ack.SequenceNumber - 1;
        long counterNow = now.Microseconds / PeriodMicroseconds;
        // The counter's two low bits pick the step: this one or the last.
        long counter = counterNow - ((counterNow - (cookie >> 30)) & 3);
        int index = (int)((cookie >> HashBits) & 7);
        if (counterNow - counter > 1 || Hash(local, remote, peerIsn, counter, index) != (cookie & HashMask))
        {
            return false;
        }
        byte? scale = null;
        bool sack = false;
        TcpTimestamp? timestamp = null;
        if (ack.Timestamp is { } ts)
        {
            uint bits = ts.Echo & OptionMask;
            scale = (bits & NoScale) == NoScale ? null : (byte)Math.Min((int)(bits & NoScale), TcpRepr.MaxWindowScale);
            sack = (bits & SackBit) != 0;
            timestamp = new TcpTimestamp(ts.Value, 0);
        }
        syn = new TcpRepr(ack.SourcePort, ack.DestinationPort, peerIsn, default, TcpFlags.Syn, ack.WindowLength,
            MaxSegmentSize: s_mss[index], WindowScale: scale, SackPermitted: sack, Timestamp: timestamp);
        return true;
    }

    private uint Hash(Ipv4Endpoint local, Ipv4Endpoint remote, SeqNum peerIsn, long counter, int index)
    {
        Span<byte> input = stackalloc byte[25];
        local.Address.Write(input);
        remote.Address.Write(input[4..]);
        BinaryPrimitives.WriteUInt16BigEndian(input[8..], local.Port);
        BinaryPrimitives.WriteUInt16BigEndian(input[10..], remote.Port);
        BinaryPrimitives.WriteUInt32BigEndian(input[12..], peerIsn.Value);
        BinaryPrimitives.WriteInt64BigEndian(input[16..], counter);
        input[24] = (byte)index;
        return (uint)SipHash.Hash(key0, key1, input) & HashMask;
    }
}
