using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net.Tcp;
using Unisharp.Net.Tests.Simulation;
using Unisharp.Net.Wire;
using Unisharp.Simulation;

namespace Unisharp.Net.Tests.Tcp;

/// <summary>Two stacks on a simulated link for TCP tests: A (client, 198.18.0.1) and B (server, 198.18.0.2).</summary>
internal sealed class TcpNet
{
    public static readonly Ipv4Address AddressA = Ipv4Address.Parse("198.18.0.1");
    public static readonly Ipv4Address AddressB = Ipv4Address.Parse("198.18.0.2");

    private TcpNet(SimulatedNetwork network, DirectStack a, DirectStack b)
    {
        Network = network;
        A = a;
        B = b;
    }

    public SimulatedNetwork Network { get; }
    public DirectStack A { get; }
    public DirectStack B { get; }
    public SimulatedDevice DeviceA { get; private init; } = null!;
    public SimulatedDevice DeviceB { get; private init; } = null!;

    /// <summary>Cuts both directions of the link (every frame is lost from now on).</summary>
    public void Cut()
    {
        DeviceA.Conditions = DeviceA.Conditions with { Loss = 1 };
        DeviceB.Conditions = DeviceB.Conditions with { Loss = 1 };
    }

    public static TcpSocket SocketOf(ITcpConnection connection) => ((DirectTcpConnection)connection).Socket;

    /// <summary>Hands <paramref name="stack"/> a segment as if it had arrived from <paramref name="source"/>.</summary>
    public void Inject(DirectStack stack, Ipv4Address source, in TcpRepr segment, ReadOnlySpan<byte> payload = default)
    {
        byte[] bytes = new byte[segment.BufferLength];
        segment.Emit(bytes, payload, source, stack.Address);
        var ip = new Ipv4Repr(source, stack.Address, IpProtocol.Tcp, bytes.Length);
        stack.TcpLayer.Process(ip, bytes, false, Network.Now);
    }

    public static TcpNet Create(ulong seed, LinkConditions link = default, TcpSettings? settingsA = null, TcpSettings? settingsB = null)
    {
        var network = new SimulatedNetwork(seed);
        var a = AddStack(network, "a", MacAddress.Parse("02:00:00:00:05:0a"), "198.18.0.1/24", link, settingsA ?? new TcpSettings(), out var deviceA);
        var b = AddStack(network, "b", MacAddress.Parse("02:00:00:00:05:0b"), "198.18.0.2/24", link, settingsB ?? new TcpSettings(), out var deviceB);
        return new TcpNet(network, a, b) { DeviceA = deviceA, DeviceB = deviceB };
    }

    public static DirectStack AddStack(SimulatedNetwork network, string name, MacAddress mac, string cidr, LinkConditions link, TcpSettings settings) =>
        AddStack(network, name, mac, cidr, link, settings, out _);

    public static DirectStack AddStack(SimulatedNetwork network, string name, MacAddress mac, string cidr, LinkConditions link, TcpSettings settings,
        out SimulatedDevice device)
    {
        device = network.AddDevice(name, mac, link);
        var stack = DirectStack.CreateManualWithTcp(new StackOptions
        {
            Device = device,
            Clock = network.Clock,
            Entropy = network.CreateEntropy(),
            Ip = new IpConfiguration(Ipv4Cidr.Parse(cidr), null, false),
            Log = new Logger(LogLevel.Quiet),
        }, settings);
        network.AddNode(new StackNode(stack));
        return stack;
    }

    /// <summary>Runs until <paramref name="task"/> completes (or fails the test after <paramref name="limit"/> of virtual time).</summary>
    public T Run<T>(Task<T> task, Duration limit)
    {
        Network.RunUntil(() => task.IsCompleted, limit);
        Assert.True(task.IsCompleted, $"not done after {limit} of virtual time (now {Network.Now})");
        return task.GetAwaiter().GetResult();
    }

    public void Run(Task task, Duration limit)
    {
        Network.RunUntil(() => task.IsCompleted, limit);
        Assert.True(task.IsCompleted, $"not done after {limit} of virtual time (now {Network.Now})");
        task.GetAwaiter().GetResult();
    }

    /// <summary>Connects A to a listener on B's <paramref name="port"/>; returns (client, server) connections.</summary>
    public (ITcpConnection Client, ITcpConnection Server) Connect(ITcpListener listener, ushort port = 80)
    {
        var accept = listener.AcceptAsync().AsTask();
        var connect = A.Tcp.ConnectAsync(new Ipv4Endpoint(AddressB, port)).AsTask();
        var client = Run(connect, Duration.FromSeconds(30));
        var server = Run(accept, Duration.FromSeconds(30));
        return (client, server);
    }

    public static async Task<byte[]> ReadToEnd(ITcpConnection connection, int expected)
    {
        var received = new MemoryStream(expected);
        byte[] buffer = new byte[64 * 1024];
        while (true)
        {
            int n = await connection.ReadAsync(buffer).ConfigureAwait(false);
            if (n == 0)
            {
                return received.ToArray();
            }
            received.Write(buffer, 0, n);
        }
    }

    public static async Task WriteAllAndClose(ITcpConnection connection, byte[] data, int chunk = 100_000)
    {
        for (int offset = 0; offset < data.Length; offset += chunk)
        {
            await connection.WriteAsync(data.AsMemory(offset, Math.Min(chunk, data.Length - offset))).ConfigureAwait(false);
        }
        await connection.ShutdownWriteAsync().ConfigureAwait(false);
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
