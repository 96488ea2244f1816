using System.Buffers;
using Unisharp.Net.Wire;

namespace Unisharp.Net.Arp;

/// <summary>
/// IPv4 datagrams waiting for their next hop's MAC address (RFC 1122 §2.3.2.2: at least one per
/// destination should be kept). Bounded in total and per destination; payload buffers come from the
/// shared array pool and go back to it, so a busy link does not allocate.
/// </summary>
internal sealed class ArpPendingQueue
{
    private struct Slot
    {
        public bool Used;
        public Ipv4Address NextHop;
        public Ipv4Repr Header;
        public byte[]? Payload;
        public long Sequence;
    }

    private readonly Slot[] _slots;
    private readonly int _perDestination;
    private long _sequence;

    public ArpPendingQueue(int capacity = 32, int perDestination = 4)
    {
        _slots = new Slot[capacity];
        _perDestination = perDestination;
    }

    public int Count
    {
        get
        {
            int n = 0;
            foreach (ref readonly var s in _slots.AsSpan())
            {
                n += s.Used ? 1 : 0;
            }
            return n;
        }
    }

    /// <summary>True when one more datagram for <paramref name="nextHop"/> would be kept.</summary>
    public bool HasRoom(Ipv4Address nextHop)
    {
        bool free = false;
        int forHop = 0;
        foreach (ref readonly var s in _slots.AsSpan())
        {
            free |= !s.Used;
            forHop += s.Used && s.NextHop == nextHop ? 1 : 0;
        }
        return free && forHop < _perDestination;
    }

    /// <summary>Keeps a copy of the datagram; false when the queue (or this destination's share) is full.</summary>
    public bool TryEnqueue(Ipv4Address nextHop, in Ipv4Repr header, ReadOnlySpan<byte> payload)
    {
        int free = -1;
        int forHop = 0;
        for (int i = 0; i < _slots.Length; i++)
        {
            if (!_slots[i].Used)
            {
                free = free < 0 ? i : free;
            }
            else if (_slots[i].NextHop == nextHop)
            {
                forHop++;
            }
        }
        if (free < 0 || forHop >= _perDestination)
        {
            return false;
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(payload.Length, 1));
        payload.CopyTo(buffer);
        _slots[free] = new Slot { Used = true, NextHop = nextHop, Header = header, Payload = buffer, Sequence = _sequence++ };
        return true;
    }

    /// <summary>
    /// Takes the oldest datagram for <paramref name="nextHop"/>; the caller sends it and then calls
    /// <see cref="Release"/> with <paramref name="payload"/>'s array.
    /// </summary>
    public bool TryDequeue(Ipv4Address nextHop, out Ipv4Repr header, out byte[] payload)
    {
        int oldest = -1;
        for (int i = 0; i < _slots.Length; i++)
        {
            if (_slots[i].Used && _slots[i].NextHop == nextHop && (oldest < 0 || _slots[i].Sequence < _slots[oldest].Sequence))
            {
                oldest = i;
            }
        }
        if (oldest < 0)
        {
            header = default;
            payload = [];
            return false;
        }
        header = _slots[oldest].Header;
        payload = _slots[oldest].Payload!;
        _slots[oldest] = default;
        return true;
    }

    public static void Release(byte[] payload) => ArrayPool<byte>.Shared.Return(payload);

    /// <summary>Drops every datagram for <paramref name="nextHop"/>; returns how many.</summary>
    public int DropAll(Ipv4Address nextHop)
    {
        int n = 0;
        while (TryDequeue(nextHop, out _, out byte[] payload))
        {
            Release(payload);
            n++;
        }
        return n;
    }

    /// <summary>Drops everything (the address went away).</summary>
    public int Clear()
    {
        int n = 0;
        for (int i = 0; i < _slots.Length; i++)
        {
            if (_slots[i].Used)
            {
                Release(_slots[i].Payload!);
                _slots[i] = default;
                n++;
            }
        }
        return n;
    }
}
