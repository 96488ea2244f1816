using Unisharp.Net;

namespace Unisharp.Fuzz;

/// <summary>
/// The stateful target: a whole <see cref="DirectStack"/> (198.18.0.2, a TCP listener on port 80, a UDP socket on 7,
/// and a connection it opens to 198.18.0.1:8080) on a queue device and a hand-moved clock, fed a sequence of steps
/// decoded from the input. After every step the stack is polled and checked: no exception escapes, every table within
/// its bound, no internal-error drop, every frame it sent well-formed with correct checksums, and on every connection
/// SND.UNA ≤ SND.NXT with the flight no larger than the send buffer and RCV.NXT never moving back.
/// </summary>
/// <remarks>
/// A step is one byte that says what follows (<see cref="Step"/>). TCP steps take their sequence and acknowledgment
/// numbers relative to a model of the peer (the next sequence number it would send, the highest the stack has sent),
/// so small deltas reach the states past the handshake; raw frames reach everything else.
/// </remarks>
internal static class StackTarget
{
    internal static readonly MacAddress PeerMac = new(0x02_00_00_00_00_0aUL);
    internal static readonly MacAddress StackMac = new(0x02_00_00_00_00_0bUL);
    internal static readonly Ipv4Address PeerAddress = new(0xC6120001);
    internal static readonly Ipv4Address StackAddress = new(0xC6120002);
    internal const ushort ListenPort = 80;
    internal const ushort PeerClientPort = 40000;
    internal const ushort PeerServerPort = 8080;
    internal const ushort UdpPort = 7;

    /// <summary>What a step is: the low three bits of its first byte.</summary>
    internal enum Step
    {
        /// <summary>[length u16][bytes]: a raw frame (bit 4 of the step byte: addressed to the stack's MAC).</summary>
        RawFrame = 0,
        /// <summary>[flags][seq delta s8][ack delta s8][window u16][options length][options][data length][data] from 198.18.0.1:40000 to port 80.</summary>
        TcpToListener = 1,
        /// <summary>As <see cref="TcpToListener"/>, from 198.18.0.1:8080 to the stack's connection.</summary>
        TcpToClient = 2,
        /// <summary>[milliseconds u16]: the clock moves on (bit 7 of the step byte: to the stack's next deadline instead).</summary>
        Time = 3,
        /// <summary>[port low byte][length][data]: a UDP datagram to port 7 (or another port).</summary>
        Udp = 4,
        /// <summary>[action]: the app reads, writes, shuts down, aborts or connects again.</summary>
        App = 5,
        /// <summary>[protocol][fragment field u16][id][length u16][data]: an IPv4 packet with a correct header.</summary>
        Ipv4 = 6,
        /// <summary>[type][code][rest u32][length][data]: an ICMP message with a correct checksum.</summary>
        Icmp = 7,
    }

    public static void Run(byte[] input)
    {
        // The app's awaits continue inline inside the poll, as on the stack's own thread, not on a test runner's context.
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            new StackRun(input).Execute();
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }
}
