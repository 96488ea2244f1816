using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net.Tests.Interop;
using Unisharp.Targets.Unix.Network;

namespace Unisharp.Net.Tests.Tcp;

/// <summary>
/// Our TCP against Linux's, in a namespace each test creates and deletes: 198.18.0.1 is Linux with <c>nc</c>,
/// 198.18.0.2 our threaded stack, over a TAP device (Linux holds the interface, we the file descriptor) or over
/// the veth pair the other interop tests use. Skipped where namespaces cannot be made.
/// </summary>
public sealed partial class TcpLinuxPeerTests
{
    private static readonly Ipv4Address s_us = Ipv4Address.Parse("198.18.0.2");
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private const string TapName = "ut0";

    private sealed class Peer(NetworkNamespace ns, INetworkDevice device, DirectStack stack) : IAsyncDisposable
    {
        public NetworkNamespace Namespace => ns;
        public DirectStack Stack => stack;
        public INetworkDevice Device => device;

        public async ValueTask DisposeAsync()
        {
            await stack.DisposeAsync();
            device.Dispose();
            ns.Dispose();
        }
    }

    /// <param name="offload">With <paramref name="tap"/>: the unix target's <see cref="TapDevice"/> with offload on or off
    /// instead of the tests' plain TAP device.</param>
    private static Peer Start(bool tap, bool? offload = null)
    {
        var ns = NetworkNamespace.Create();
        try
        {
            INetworkDevice device;
            if (tap)
            {
                // Replace the veth pair by a TAP interface that Linux addresses; our stack reads and writes its frames.
                ns.Ip("link", "del", NetworkNamespace.OurInterface);
                ns.Ip("tuntap", "add", "dev", TapName, "mode", "tap");
                ns.Ip("link", "set", TapName, "address", "02:00:00:00:04:0a");
                ns.Ip("addr", "add", $"{NetworkNamespace.LinuxAddress}/24", "dev", TapName);
                ns.Ip("link", "set", TapName, "up");
                device = offload is { } on
                    ? ns.Inside(() => TapDevice.Open(TapName, NetworkNamespace.OurMac, on))
                    : ns.Inside(() => TapTestDevice.Open(TapName, NetworkNamespace.OurMac));
            }
            else
            {
                device = ns.Inside(() => PacketSocketDevice.Open(NetworkNamespace.OurInterface, NetworkNamespace.OurMac));
            }
            var stack = DirectStack.Start(new StackOptions
            {
                Device = device,
                Clock = new SystemClock(),
                Entropy = new SystemEntropy(),
                Ip = new IpConfiguration(Ipv4Cidr.Parse("198.18.0.2/24"), null, false),
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

    private static string TempFile(Peer peer, string name) => Path.Combine(Path.GetTempPath(), $"{peer.Namespace.Name}-{name}");

    [LinuxFact("nc")]
    public Task Listener_LinuxNcSendsOverTap_ByteExact() => ListenerReceivesFromNc(tap: true);

    [LinuxFact("nc")]
    public Task Listener_LinuxNcSendsOverVeth_ByteExact() => ListenerReceivesFromNc(tap: false);

    [LinuxFact("nc")]
    public Task Connect_ToLinuxNcListenerOverTap_ByteExact() => ConnectSendsToNc(tap: true);

    [LinuxFact("nc")]
    public Task Connect_ToLinuxNcListenerOverVeth_ByteExact() => ConnectSendsToNc(tap: false);

    [LinuxFact("nc")]
    public async Task Listener_LinuxNcSendsOverTapWithOffload_ByteExactInLargeSegments()
    {
        var tap = (TapDevice)await ListenerReceivesFromNc(tap: true, offload: true, length: 16 << 20);
        Assert.True(tap.Capabilities.SegmentationOffload);
        Assert.True(tap.LargeFramesReceived > 0, "Linux sent no segment over the MTU");
    }

    [LinuxFact("nc")]
    public async Task Listener_LinuxNcSendsOverTapWithoutOffload_ByteExactInPlainFrames()
    {
        var tap = (TapDevice)await ListenerReceivesFromNc(tap: true, offload: false, length: 4 << 20);
        Assert.False(tap.Capabilities.SegmentationOffload);
        Assert.Equal(0, tap.LargeFramesReceived);
    }

    [LinuxFact("nc")]
    public async Task Connect_ToLinuxNcListenerOverTapWithOffload_ByteExactInLargeSegments()
    {
        var tap = (TapDevice)await ConnectSendsToNc(tap: true, offload: true, length: 16 << 20);
        Assert.True(tap.LargeFramesSent > 0, "we sent no segment over the MTU");
        Assert.Equal(0, tap.TransmitDrops);
    }

    /// <summary>Returns the device, for checks after the connection is gone.</summary>
    private static async Task<INetworkDevice> ListenerReceivesFromNc(bool tap, bool? offload = null, int length = 2 << 20)
    {
        await using var peer = Start(tap, offload);
        byte[] data = TcpNet.RandomBytes(length, 99);
        string input = TempFile(peer, "in");
        await File.WriteAllBytesAsync(input, data);
        try
        {
            await using var listener = peer.Stack.Tcp.Listen(7000);
            using var cancel = new CancellationTokenSource(s_timeout);
            var accept = listener.AcceptAsync(cancel.Token).AsTask();

            // -N: shut the socket down for writing at the end of the file, so we see a FIN.
            var nc = peer.Namespace.Spawn("sh", "-c", $"nc -N -w 20 {s_us} 7000 < {input}");
            await using var connection = await accept;
            var received = new MemoryStream();
            byte[] buffer = new byte[65536];
            int n;
            while ((n = await connection.ReadAsync(buffer, cancel.Token)) > 0)
            {
                received.Write(buffer, 0, n);
            }

            Assert.Equal(data.Length, received.Length);
            Assert.True(data.AsSpan().SequenceEqual(received.ToArray()), "the bytes differ");
            Assert.Equal(NetworkNamespace.LinuxAddress, connection.RemoteEndpoint.Address);
            await connection.ShutdownWriteAsync();
            Assert.True(nc.WaitForExit(10_000), "nc did not finish after our FIN");
            Assert.Equal(0, nc.ExitCode);
            Assert.Equal(0, peer.Stack.TcpLayer.Stats.BadChecksums);
            return peer.Device;
        }
        finally
        {
            File.Delete(input);
        }
    }

    private static async Task<INetworkDevice> ConnectSendsToNc(bool tap, bool? offload = null, int length = 2 << 20)
    {
        await using var peer = Start(tap, offload);
        byte[] data = TcpNet.RandomBytes(length, 98);
        string output = TempFile(peer, "out");
        try
        {
            var nc = peer.Namespace.Spawn("sh", "-c", $"nc -l -s {NetworkNamespace.LinuxAddress} -p 7001 < /dev/null > {output}");
            using var cancel = new CancellationTokenSource(s_timeout);
            ITcpConnection? connection = null;
            // nc needs a moment to bind: a refused attempt is retried.
            for (int attempt = 0; connection is null; attempt++)
            {
                try
                {
                    connection = await peer.Stack.Tcp.ConnectAsync(new Ipv4Endpoint(NetworkNamespace.LinuxAddress, 7001), cancel.Token);
                }
                catch (NetworkException e) when (e.Error == NetworkError.ConnectionRefused && attempt < 50)
                {
                    await Task.Delay(100, cancel.Token);
                }
            }
            await using (connection)
            {
                await connection.WriteAsync(data, cancel.Token);
                await connection.ShutdownWriteAsync(cancel.Token);
                // Linux closes its side once it has read our FIN: the end of the stream for us.
                Assert.Equal(0, await connection.ReadAsync(new byte[10], cancel.Token));
            }
            Assert.True(nc.WaitForExit(10_000), "nc did not exit");
            byte[] received = await File.ReadAllBytesAsync(output);

            Assert.Equal(data.Length, received.Length);
            Assert.True(data.AsSpan().SequenceEqual(received), "the bytes differ");
            return peer.Device;
        }
        finally
        {
            File.Delete(output);
        }
    }
}
