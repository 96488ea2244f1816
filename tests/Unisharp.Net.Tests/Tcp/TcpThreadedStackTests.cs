using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;

namespace Unisharp.Net.Tests.Tcp;

/// <summary>TCP on two threaded stacks (each with its I/O thread) joined by an in-memory cable, with real async callers.</summary>
public class TcpThreadedStackTests
{
    private static DirectStack Start(PipeDevice device, string cidr) => DirectStack.Start(new StackOptions
    {
        Device = device,
        Clock = new SystemClock(),
        Entropy = new SystemEntropy(),
        Ip = new IpConfiguration(Ipv4Cidr.Parse(cidr), null, false),
        Log = new Logger(LogLevel.Quiet),
    });

    [Fact]
    public async Task Echo_ThreadedStacks_ByteExact()
    {
        var (deviceA, deviceB) = PipeDevice.CreatePair(MacAddress.Parse("02:00:00:00:07:0a"), MacAddress.Parse("02:00:00:00:07:0b"));
        await using var a = Start(deviceA, "198.18.0.1/24");
        await using var b = Start(deviceB, "198.18.0.2/24");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var listener = b.Tcp.Listen(7);
        var server = Task.Run(async () =>
        {
            await using var connection = await listener.AcceptAsync(cancel.Token);
            byte[] buffer = new byte[8192];
            int n;
            while ((n = await connection.ReadAsync(buffer, cancel.Token)) > 0)
            {
                await connection.WriteAsync(buffer.AsMemory(0, n), cancel.Token);
            }
        });
        byte[] data = TcpNet.RandomBytes(1 << 20, 5);

        await using var client = await a.Tcp.ConnectAsync(new Ipv4Endpoint(b.Address, 7), cancel.Token);
        var stream = client.GetStream();
        var writing = Task.Run(async () =>
        {
            await stream.WriteAsync(data, cancel.Token);
            await client.ShutdownWriteAsync(cancel.Token);
        });
        var echoed = new MemoryStream();
        await stream.CopyToAsync(echoed, cancel.Token);
        await writing;
        await server;

        Assert.True(data.AsSpan().SequenceEqual(echoed.ToArray()), "the echo differs");
    }
}
