using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;

namespace Unisharp.Net.Tests.Stack;

public class DirectStackTests
{
    private static readonly MacAddress s_macA = MacAddress.Parse("02:00:00:00:03:0a");
    private static readonly MacAddress s_macB = MacAddress.Parse("02:00:00:00:03:0b");

    private static StackOptions Options(INetworkDevice device, string? cidr, ulong seed, TcpOptions? tcp = null) => new()
    {
        Tcp = tcp,
        Device = device,
        Clock = new SystemClock(),
        Entropy = new SeededEntropy(seed),
        Ip = new IpConfiguration(cidr is null ? null : Ipv4Cidr.Parse(cidr), null, cidr is null),
        Log = new Logger(LogLevel.Quiet),
    };

    [Fact]
    public async Task Start_TwoThreadedStacks_UdpEchoRoundTrip()
    {
        var (deviceA, deviceB) = PipeDevice.CreatePair(s_macA, s_macB);
        await using var a = DirectStack.Start(Options(deviceA, "198.18.0.1/24", 1));
        await using var b = DirectStack.Start(Options(deviceB, "198.18.0.2/24", 2));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var server = b.Udp.Bind(7);
        await using var client = a.Udp.Bind(0);

        var serving = Task.Run(async () =>
        {
            byte[] buffer = new byte[2000];
            for (int i = 0; i < 3; i++)
            {
                var request = await server.ReceiveAsync(buffer, timeout.Token);
                await server.SendAsync(buffer.AsMemory(0, request.Length), request.Remote, timeout.Token);
            }
        });
        byte[] reply = new byte[2000];
        for (int i = 0; i < 3; i++)
        {
            byte[] message = new byte[100 + 600 * i];
            message.AsSpan().Fill((byte)i);
            await client.SendAsync(message, new Ipv4Endpoint(b.Address, 7), timeout.Token);
            var result = await client.ReceiveAsync(reply, timeout.Token);
            Assert.Equal(message, reply.AsSpan(0, result.Length).ToArray());
            Assert.Equal(new Ipv4Endpoint(b.Address, 7), result.Remote);
        }
        await serving;

        Assert.Equal(Ipv4Address.Parse("198.18.0.1"), a.Address);
        Assert.Equal(3, b.Stats.UdpDatagramsReceived);
        Assert.Equal(3, a.Stats.UdpDatagramsReceived);
    }

    [Fact]
    public async Task DisposeAsync_PendingReceive_FailsClosed()
    {
        var (deviceA, _) = PipeDevice.CreatePair(s_macA, s_macB);
        var stack = DirectStack.Start(Options(deviceA, "198.18.0.1/24", 3));
        var socket = stack.Udp.Bind(9);
        var receive = socket.ReceiveAsync(new byte[10]).AsTask();

        await stack.DisposeAsync();

        var e = await Assert.ThrowsAsync<NetworkException>(() => receive);
        Assert.Equal(NetworkError.Closed, e.Error);
        Assert.Equal(NetworkError.Closed, Assert.Throws<NetworkException>(() => stack.Udp.Bind(10)).Error);
    }

    [Fact]
    public async Task ReceiveAsync_Cancelled_ThrowsAndLaterDatagramStillArrives()
    {
        var (deviceA, deviceB) = PipeDevice.CreatePair(s_macA, s_macB);
        await using var a = DirectStack.Start(Options(deviceA, "198.18.0.1/24", 4));
        await using var b = DirectStack.Start(Options(deviceB, "198.18.0.2/24", 5));
        await using var server = b.Udp.Bind(7);
        await using var client = a.Udp.Bind(0);
        using var cancel = new CancellationTokenSource();
        byte[] buffer = new byte[10];

        var first = server.ReceiveAsync(buffer, cancel.Token).AsTask();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        await client.SendAsync("late"u8.ToArray(), new Ipv4Endpoint(b.Address, 7));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var result = await server.ReceiveAsync(buffer, timeout.Token);

        Assert.Equal("late"u8.ToArray(), buffer.AsSpan(0, result.Length).ToArray());
    }

    [Fact]
    public async Task SendAsync_Oversized_MessageTooLong()
    {
        var (deviceA, _) = PipeDevice.CreatePair(s_macA, s_macB);
        await using var stack = DirectStack.CreateManual(Options(deviceA, "198.18.0.1/24", 7));
        await using var socket = stack.Udp.Bind(0);

        var e = await Assert.ThrowsAsync<NetworkException>(async () => await socket.SendAsync(new byte[65508], new Ipv4Endpoint(Ipv4Address.Parse("198.18.0.2"), 9)));
        Assert.Equal(NetworkError.MessageTooLong, e.Error);
    }

    /// <summary>
    /// A server closes a connection with 200,000 bytes still to send (the client's window is 16 KiB and it has not read
    /// yet) and its stack stops at once, as a stopping unikernel's does: the stack goes on until they and the FIN are
    /// delivered, so the client reads them all, then the end.
    /// </summary>
    [Fact]
    public async Task DisposeAsync_ClosedConnectionStillSending_DeliversItsDataAndFinFirst()
    {
        var (deviceA, deviceB) = PipeDevice.CreatePair(s_macA, s_macB);
        await using var a = DirectStack.Start(Options(deviceA, "198.18.0.1/24", 11, new TcpOptions { ReceiveBufferSize = 16384, MaxReceiveBufferSize = 16384 }));
        var b = DirectStack.Start(Options(deviceB, "198.18.0.2/24", 12, new TcpOptions { SendBufferSize = 256 * 1024 }));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var listener = b.Tcp.Listen(80);
        await using var client = await a.Tcp.ConnectAsync(new Ipv4Endpoint(b.Address, 80), timeout.Token);
        var server = await listener.AcceptAsync(timeout.Token);
        byte[] data = new byte[200_000];
        new Random(11).NextBytes(data);
        await server.WriteAsync(data, timeout.Token);

        await server.DisposeAsync();
        var stopping = b.DisposeAsync().AsTask();
        var received = new MemoryStream();
        byte[] buffer = new byte[8192];
        for (int n; (n = await client.ReadAsync(buffer, timeout.Token)) > 0;)
        {
            received.Write(buffer, 0, n);
        }
        await stopping;

        Assert.Equal(data, received.ToArray());
    }

    [Fact]
    public async Task Poll_ThreadedStack_Refused()
    {
        var (deviceA, _) = PipeDevice.CreatePair(s_macA, s_macB);
        await using var stack = DirectStack.Start(Options(deviceA, "198.18.0.1/24", 8));

        Assert.Throws<InvalidOperationException>(() => stack.Poll(Instant.Zero));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ReadAsync_InlineContinuations_ResumesOnTheIoThreadOnlyWhenAsked(bool inline)
    {
        var (deviceA, deviceB) = PipeDevice.CreatePair(s_macA, s_macB);
        await using var a = DirectStack.Start(Options(deviceA, "198.18.0.1/24", 9));
        await using var b = DirectStack.Start(Options(deviceB, "198.18.0.2/24", 10, new TcpOptions { InlineContinuations = inline }));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var listener = b.Tcp.Listen(80);
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var serving = Task.Run(async () =>
        {
            await using var connection = await listener.AcceptAsync(timeout.Token).ConfigureAwait(false);
            byte[] buffer = new byte[16];
            // Nothing has been sent yet, so the read waits and resumes wherever the stack completes it.
            var read = connection.ReadAsync(buffer, timeout.Token);
            reading.SetResult();
            int n = await read.ConfigureAwait(false);
            return (n, Thread.CurrentThread.Name);
        });
        await using var client = await a.Tcp.ConnectAsync(new Ipv4Endpoint(b.Address, 80), timeout.Token);
        await reading.Task.WaitAsync(timeout.Token);
        await client.WriteAsync("hi"u8.ToArray(), timeout.Token);
        var (count, thread) = await serving.WaitAsync(timeout.Token);

        Assert.Equal(2, count);
        Assert.Equal(inline, thread?.StartsWith("unisharp-net-", StringComparison.Ordinal) == true);
    }
}
