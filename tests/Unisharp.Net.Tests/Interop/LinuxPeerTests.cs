using System.Net;
using System.Net.Sockets;
using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;

namespace Unisharp.Net.Tests.Interop;

/// <summary>
/// Our stack against the Linux kernel's, over a veth pair inside a namespace each test creates and deletes
/// (198.18.0.1 is Linux, 198.18.0.2 or a DHCP lease is us). Skipped where namespaces cannot be made.
/// </summary>
public sealed class LinuxPeerTests
{
    private static readonly Ipv4Address s_us = Ipv4Address.Parse("198.18.0.2");
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private sealed class Peer(NetworkNamespace ns, PacketSocketDevice device, DirectStack stack) : IAsyncDisposable
    {
        public NetworkNamespace Namespace => ns;
        public DirectStack Stack => stack;

        public async ValueTask DisposeAsync()
        {
            await stack.DisposeAsync();
            device.Dispose();
            ns.Dispose();
        }
    }

    private static Peer Start(string? cidr)
    {
        var ns = NetworkNamespace.Create();
        try
        {
            var device = ns.Inside(() => PacketSocketDevice.Open(NetworkNamespace.OurInterface, NetworkNamespace.OurMac));
            var stack = DirectStack.Start(new StackOptions
            {
                Device = device,
                Clock = new SystemClock(),
                Entropy = new SystemEntropy(),
                Ip = new IpConfiguration(cidr is null ? null : Ipv4Cidr.Parse(cidr), null, cidr is null),
                Log = new Logger(LogLevel.Quiet),
            });
            return new Peer(ns, device, stack);
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    private static Socket LinuxUdpSocket(NetworkNamespace ns) => ns.Inside(() =>
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        socket.Bind(new IPEndPoint(IPAddress.Parse(NetworkNamespace.LinuxAddress.ToString()), 0));
        return socket;
    });

    [LinuxFact("ping")]
    public async Task Ping_FromLinux_Answered()
    {
        await using var peer = Start("198.18.0.2/24");

        var (code, output) = peer.Namespace.Exec(s_timeout, "ping", "-c", "3", "-i", "0.2", "-W", "2", s_us.ToString());

        Assert.True(code == 0, output);
        Assert.True(peer.Stack.Stats.EchoRepliesSent >= 3);
    }

    [LinuxFact("ping")]
    public async Task Ping_LargerThanMtu_FragmentedBothWays()
    {
        await using var peer = Start("198.18.0.2/24");

        var (code, output) = peer.Namespace.Exec(s_timeout, "ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", "4000", s_us.ToString());

        Assert.True(code == 0, output);
        Assert.True(peer.Stack.Stats.DatagramsReassembled >= 2);
        Assert.True(peer.Stack.Stats.FragmentsSent >= 6);
    }

    [LinuxFact]
    public async Task Udp_LinuxSocketToOurEcho_RoundTrips()
    {
        await using var peer = Start("198.18.0.2/24");
        await using var server = peer.Stack.Udp.Bind(7);
        using var cancel = new CancellationTokenSource(s_timeout);
        var echo = Task.Run(async () =>
        {
            byte[] buffer = new byte[10_000];
            while (!cancel.IsCancellationRequested)
            {
                var request = await server.ReceiveAsync(buffer, cancel.Token);
                await server.SendAsync(buffer.AsMemory(0, request.Length), request.Remote, cancel.Token);
            }
        });
        using var linux = LinuxUdpSocket(peer.Namespace);
        var target = new IPEndPoint(IPAddress.Parse(s_us.ToString()), 7);
        byte[] reply = new byte[10_000];

        foreach (int size in new[] { 1, 1472, 4000, 8000 })
        {
            byte[] message = new byte[size];
            Random.Shared.NextBytes(message);
            linux.SendTo(message, target);
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            int n = linux.ReceiveFrom(reply, ref from);

            Assert.Equal(message, reply.AsSpan(0, n).ToArray());
            Assert.Equal(target, from);
        }
        cancel.Cancel();
        try
        {
            await echo;
        }
        catch (OperationCanceledException)
        {
            // The echo loop was waiting for a datagram: the expected way for it to end.
        }
    }

    [LinuxFact]
    public async Task Udp_OurSocketToLinux_ArrivesWithValidChecksum()
    {
        await using var peer = Start("198.18.0.2/24");
        using var linux = LinuxUdpSocket(peer.Namespace);
        int linuxPort = ((IPEndPoint)linux.LocalEndPoint!).Port;
        await using var client = peer.Stack.Udp.Bind(0);

        await client.SendAsync("from unisharp"u8.ToArray(), new Ipv4Endpoint(NetworkNamespace.LinuxAddress, (ushort)linuxPort));
        byte[] buffer = new byte[100];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int n = linux.ReceiveFrom(buffer, ref from);

        // Linux drops datagrams with a bad checksum, so arriving at all proves ours is right.
        Assert.Equal("from unisharp", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        Assert.Equal(new IPEndPoint(IPAddress.Parse(s_us.ToString()), client.LocalEndpoint.Port), from);
    }

    [LinuxFact]
    public async Task Udp_LinuxToClosedPort_ConnectionRefused()
    {
        await using var peer = Start("198.18.0.2/24");
        using var linux = LinuxUdpSocket(peer.Namespace);
        linux.Connect(new IPEndPoint(IPAddress.Parse(s_us.ToString()), 9));

        linux.Send("anyone?"u8);
        // Our ICMP port unreachable comes back as ECONNREFUSED on a connected UDP socket.
        var e = Assert.Throws<SocketException>(() => linux.Receive(new byte[10]));

        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
        Assert.Equal(1, peer.Stack.Stats.IcmpUnreachableSent);
    }

    [LinuxFact("dnsmasq")]
    public async Task Dhcp_FromDnsmasq_LeasesAddressAndAnswersPing()
    {
        await using var peer = Start(null);
        string leases = Path.Combine(Path.GetTempPath(), $"{peer.Namespace.Name}.leases");
        try
        {
            peer.Namespace.Spawn("dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--no-ping",
                $"--interface={NetworkNamespace.LinuxInterface}", "--bind-interfaces", $"--dhcp-leasefile={leases}",
                "--dhcp-range=198.18.0.50,198.18.0.60,255.255.255.0,120", "--dhcp-option=3,198.18.0.1",
                $"--pid-file={leases}.pid");

            await peer.Stack.WaitForAddressAsync().WaitAsync(s_timeout);

            Assert.InRange(peer.Stack.Address.Value, Ipv4Address.Parse("198.18.0.50").Value, Ipv4Address.Parse("198.18.0.60").Value);
            Assert.Equal(NetworkNamespace.LinuxAddress, peer.Stack.Gateway);
            Assert.Equal(24, peer.Stack.Cidr!.Value.PrefixLength);
            var (code, output) = peer.Namespace.Exec(s_timeout, "ping", "-c", "1", "-W", "2", peer.Stack.Address.ToString());
            Assert.True(code == 0, output);
        }
        finally
        {
            File.Delete(leases);
            File.Delete(leases + ".pid");
        }
    }
}
