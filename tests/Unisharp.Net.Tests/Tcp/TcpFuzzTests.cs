using Unisharp.Net.Tcp;
using Unisharp.Net.Wire;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Tcp;

public class TcpFuzzTests
{
    private static readonly LinkConditions s_lan = new(Latency: Duration.FromMilliseconds(1));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Process_RandomSegmentsNearLiveConnections_NeverThrowsAndStaysBounded(int seed)
    {
        var settings = new TcpSettings { MaxHalfOpen = 8, MaxTimeWait = 8 };
        var net = TcpNet.Create((ulong)seed, s_lan, settings, settings);
        var listener = net.B.Tcp.Listen(80, backlog: 4);
        var (client, server) = net.Connect(listener);
        var socket = TcpNet.SocketOf(server);
        var random = new Random(seed);
        byte[] payload = new byte[3000];
        random.NextBytes(payload);
        TcpFlags[] flagChoices = [TcpFlags.Syn, TcpFlags.Ack, TcpFlags.Rst, TcpFlags.Fin | TcpFlags.Ack, TcpFlags.Syn | TcpFlags.Ack,
            TcpFlags.Rst | TcpFlags.Ack, TcpFlags.Psh | TcpFlags.Ack, TcpFlags.None, TcpFlags.Fin, TcpFlags.Urg | TcpFlags.Ack];

        for (int i = 0; i < 20_000; i++)
        {
            ushort sourcePort = random.Next(3) == 0 ? (ushort)random.Next(1, 65535) : client.LocalEndpoint.Port;
            ushort destinationPort = random.Next(4) == 0 ? (ushort)random.Next(1, 65535) : (ushort)80;
            var seq = random.Next(2) == 0 ? socket.ReceiveNext + random.Next(-70_000, 70_000) : new SeqNum((uint)random.Next());
            var ack = random.Next(2) == 0 ? socket.SendNext + random.Next(-70_000, 70_000) : new SeqNum((uint)random.Next());
            var flags = flagChoices[random.Next(flagChoices.Length)];
            int length = flags.HasFlag(TcpFlags.Syn) ? 0 : random.Next(4) == 0 ? random.Next(payload.Length) : 0;
            var segment = new TcpRepr(sourcePort, destinationPort, seq, ack, flags, (ushort)random.Next(65536), length,
                MaxSegmentSize: random.Next(3) == 0 ? (ushort)random.Next(65536) : null,
                WindowScale: random.Next(3) == 0 ? (byte)random.Next(20) : null,
                SackPermitted: random.Next(2) == 0,
                Timestamp: random.Next(2) == 0 ? new TcpTimestamp((uint)random.Next(), (uint)random.Next()) : null,
                SackBlocks: random.Next(3) == 0 ? default(TcpSackBlocks).Add(ack, ack + random.Next(5000)) : default);
            net.Inject(net.B, TcpNet.AddressA, segment, payload.AsSpan(0, length));
            if (i % 500 == 0)
            {
                net.Network.RunUntil(net.Network.Now + Duration.FromMilliseconds(10));
            }
        }
        net.Network.RunUntil(net.Network.Now + Duration.FromSeconds(200));

        Assert.InRange(net.B.TcpLayer.HalfOpenCount, 0, 8);
        Assert.InRange(net.B.TcpLayer.TimeWaitCount, 0, 8);
        Assert.InRange(net.B.TcpLayer.BufferBytes, 0, 6L * 512 * 1024);
        Assert.Equal(0, net.B.Stats.Dropped(DropReason.InternalError));
    }
}
