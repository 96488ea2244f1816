using System.Diagnostics;
using Unisharp;
using Unisharp.Benchmarks;
using Unisharp.Devices;
using Unisharp.Hosting;
using Unisharp.Logging;
using Unisharp.Net;
using Unisharp.Net.Iface;
using Unisharp.Net.Wire;

// Measurements of the direct stack's hot paths. Not a test: numbers depend on the machine.
// Run: dotnet run -c Release --project bench/Unisharp.Benchmarks
var mac = MacAddress.Parse("02:00:00:00:00:0b");
var peerMac = MacAddress.Parse("02:00:00:00:00:0a");
var address = Ipv4Address.Parse("198.18.0.2");
var peer = Ipv4Address.Parse("198.18.0.1");

Console.WriteLine($"Unisharp.Net benchmarks on {Environment.ProcessorCount} cores, .NET {Environment.Version}");
bool allocationFree = UdpEcho(64) & UdpEcho(1472);
Checksum(20);
Checksum(1500);
Checksum(65535);
if (!allocationFree)
{
    Console.WriteLine("FAIL: the receive path allocated in steady state");
}
return allocationFree ? 0 : 1;

bool UdpEcho(int payloadLength)
{
    byte[] frame = BuildUdpFrame(payloadLength);
    var device = new LoopbackFrameDevice(mac, frame);
    var ip = new IpConfiguration(new Ipv4Cidr(address, 24), null, false);
    var iface = new NetworkInterface(device, new SeededEntropy(1), new Logger(LogLevel.Warning), ip, Instant.Zero);
    iface.ArpCache.Update(peer, peerMac, Instant.Zero, create: true);
    var socket = iface.Udp.Bind(7);
    byte[] buffer = new byte[2048];
    var now = Instant.FromMilliseconds(10_000);

    // One round: a burst of received datagrams, each echoed back through the socket, as an echo server does.
    void Round(int burst)
    {
        device.Pending = burst;
        iface.Poll(now);
        while (socket.TryReceive(buffer, out var received))
        {
            socket.TrySend(buffer.AsSpan(0, received.Length), received.Remote);
        }
        iface.Poll(now);
    }

    const int Burst = 32;
    for (int i = 0; i < 20_000; i++)
    {
        Round(Burst);
    }
    long transmittedBefore = device.Transmitted;
    long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
    var clock = Stopwatch.StartNew();
    int rounds = 0;
    while (clock.ElapsedMilliseconds < 2000)
    {
        for (int i = 0; i < 1000; i++)
        {
            Round(Burst);
        }
        rounds += 1000;
    }
    clock.Stop();
    long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
    long frames = (long)rounds * Burst;
    long echoed = device.Transmitted - transmittedBefore;
    Console.WriteLine($"UDP echo, {payloadLength,5}-byte payload: {frames / clock.Elapsed.TotalSeconds,12:N0} frames/s received and echoed " +
        $"({clock.Elapsed.TotalNanoseconds / frames,6:N0} ns/frame), {(double)allocated / frames:N3} bytes allocated/frame, " +
        $"{echoed} echoed of {frames}, drops {iface.Stats.TotalDropped}");
    return allocated == 0;
}

void Checksum(int length)
{
    byte[] data = new byte[length];
    new SeededEntropy(2).Fill(data);
    int iterations = Math.Max(1, 200_000_000 / length);
    ushort sink = 0;
    for (int i = 0; i < iterations / 10; i++)
    {
        sink ^= InternetChecksum.Compute(data);
        sink ^= InternetChecksum.ComputeScalar(data);
    }
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < iterations; i++)
    {
        sink ^= InternetChecksum.Compute(data);
    }
    double vector = (double)length * iterations / clock.Elapsed.TotalSeconds / 1e9;
    clock.Restart();
    for (int i = 0; i < iterations; i++)
    {
        sink ^= InternetChecksum.ComputeScalar(data);
    }
    double scalar = (double)length * iterations / clock.Elapsed.TotalSeconds / 1e9;
    Console.WriteLine($"Internet checksum, {length,5} bytes: {vector,6:N2} GB/s vectorised, {scalar,6:N2} GB/s scalar reference (x{vector / scalar:N1}) [{sink}]");
}

byte[] BuildUdpFrame(int payloadLength)
{
    byte[] frame = new byte[14 + 20 + 8 + payloadLength];
    new EthernetRepr(mac, peerMac, EtherType.Ipv4).Emit(frame);
    var payload = frame.AsSpan(42);
    for (int i = 0; i < payload.Length; i++)
    {
        payload[i] = (byte)i;
    }
    new UdpRepr(5000, 7, payloadLength).Emit(frame.AsSpan(34), payload, peer, address);
    new Ipv4Repr(peer, address, IpProtocol.Udp, 8 + payloadLength, 64, 1).Emit(frame.AsSpan(14));
    return frame;
}
