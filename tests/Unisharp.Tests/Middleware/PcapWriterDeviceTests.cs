using System.Buffers.Binary;
using System.Diagnostics;
using Unisharp.Devices;
using Unisharp.Devices.Middleware;
using Unisharp.Testing;

namespace Unisharp.Tests.Middleware;

public sealed class PcapWriterDeviceTests : IDisposable
{
    // An ARP request, 198.18.0.1 asking for 198.18.0.2 (RFC 826), and its reply.
    private static readonly byte[] s_arpRequest = Convert.FromHexString(
        "ffffffffffff" + "020000000001" + "0806" +
        "0001" + "0800" + "06" + "04" + "0001" +
        "020000000001" + "c6120001" + "000000000000" + "c6120002");

    private static readonly byte[] s_arpReply = Convert.FromHexString(
        "020000000001" + "020000000002" + "0806" +
        "0001" + "0800" + "06" + "04" + "0002" +
        "020000000002" + "c6120002" + "020000000001" + "c6120001");

    private readonly string _directory = Directory.CreateTempSubdirectory("unisharp-pcap-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Dispose_FramesInAndOut_FileMatchesPcapFormatByteForByte()
    {
        var clock = new ManualClock(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1_234_560));
        var inner = new QueueDevice();
        var output = new MemoryStream();
        var device = new PcapWriterDevice(inner, output, clock);
        inner.Inject(s_arpReply);

        clock.Advance(Duration.FromMicroseconds(10));
        Assert.Equal(42, device.Receive(new byte[100]));
        clock.Advance(Duration.FromMicroseconds(1_999_990));
        Assert.True(device.TrySend(s_arpRequest));
        device.Dispose();

        byte[] file = output.ToArray();
        byte[] expected =
        [
            // File header: magic, version 2.4, thiszone 0, sigfigs 0, snaplen 65535, LINKTYPE_ETHERNET.
            0xD4, 0xC3, 0xB2, 0xA1, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
            // 2024-01-02T03:04:05.123466Z is 1704164645 s (0x6593 7D25) and 123466 µs (0x0001 E24A); 42 bytes twice.
            0x25, 0x7D, 0x93, 0x65, 0x4A, 0xE2, 0x01, 0x00, 0x2A, 0x00, 0x00, 0x00, 0x2A, 0x00, 0x00, 0x00,
            .. s_arpReply,
            // Two seconds later, less the 10 µs: 1704164647 s, 123456 µs (0x0001 E240).
            0x27, 0x7D, 0x93, 0x65, 0x40, 0xE2, 0x01, 0x00, 0x2A, 0x00, 0x00, 0x00, 0x2A, 0x00, 0x00, 0x00,
            .. s_arpRequest,
        ];
        Assert.Equal(expected, file);
        Assert.Equal(1_704_164_645L, new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).ToUnixTimeSeconds());
        Assert.True(inner.IsDisposed);
    }

    [Fact]
    public void TryReceive_FramePending_HandlerSeesFrameAndKeepsItsState()
    {
        var inner = new QueueDevice();
        using var device = new PcapWriterDevice(inner, new MemoryStream(), new ManualClock());
        inner.Inject(s_arpRequest);
        var buffer = new byte[100];

        // Receive's handler reports the length through its own state, which must come back from the wrapper.
        int length = device.Receive(buffer);

        Assert.Equal(42, length);
        Assert.Equal(s_arpRequest, buffer[..42]);
        Assert.Equal(1, device.FramesWritten);
        Assert.Equal(0, device.Receive(buffer));
    }

    [Fact]
    public void TryTransmit_WhileAFrameIsLent_LentFrameIntactAndBothRecorded()
    {
        var inner = new QueueDevice();
        using var device = new PcapWriterDevice(inner, new MemoryStream(), new ManualClock());
        inner.Inject(s_arpRequest);

        var handler = new TransmitWhileHeldHandler(device, s_arpReply);
        Assert.True(device.TryReceive(ref handler));

        Assert.True(handler.Transmitted);
        Assert.Equal(s_arpRequest, handler.HeldAfterTransmit);
        Assert.Equal(s_arpReply, Assert.Single(inner.Sent));
        Assert.Equal(2, device.FramesWritten);
    }

    [Fact]
    public void TryTransmit_InnerFull_ReturnsFalseAndRecordsNothing()
    {
        var inner = new QueueDevice { TransmitCapacity = 0 };
        using var device = new PcapWriterDevice(inner, new MemoryStream(), new ManualClock());

        Assert.False(device.TrySend(s_arpRequest));
        Assert.Equal(0, device.FramesWritten);
    }

    [Fact]
    public void TryTransmit_FrameBuilt_InnerGetsFrameUnchanged()
    {
        var inner = new QueueDevice();
        using var device = new PcapWriterDevice(inner, new MemoryStream(), new ManualClock());

        Assert.True(device.TrySend(s_arpRequest));

        Assert.Equal(s_arpRequest, Assert.Single(inner.Sent));
        Assert.Equal((inner.Name, inner.MacAddress, inner.Capabilities), (device.Name, device.MacAddress, device.Capabilities));
    }

    [Fact]
    public void TryReceive_SecondAfterLastFlush_RecordsReachStream()
    {
        var clock = new ManualClock();
        var inner = new QueueDevice();
        var output = new MemoryStream();
        using var device = new PcapWriterDevice(inner, output, clock);
        inner.Inject(s_arpRequest);
        inner.Inject(s_arpReply);

        device.Receive(new byte[100]);
        Assert.Equal(0, output.Length);
        clock.Advance(Duration.FromSeconds(1));
        device.Receive(new byte[100]);

        Assert.Equal(24 + 2 * (16 + 42), output.Length);
    }

    [Fact]
    public void WaitForFrame_QuietForASecondAfterAFrame_RecordsReachStreamWithoutAnotherFrame()
    {
        var clock = new ManualClock();
        var inner = new QueueDevice { WhileWaiting = timeout => clock.Advance(Duration.FromTimeSpan(timeout)) };
        var output = new MemoryStream();
        using var device = new PcapWriterDevice(inner, output, clock);
        inner.Inject(s_arpRequest);
        device.Receive(new byte[100]);
        clock.Advance(Duration.FromMilliseconds(300));

        Assert.False(device.WaitForFrame(TimeSpan.FromSeconds(10)));

        // The wait stops when the record is a second old (700 ms on), flushes, and waits out the rest.
        Assert.Equal(24 + 16 + 42, output.Length);
        Assert.Equal([TimeSpan.FromMilliseconds(700), TimeSpan.FromMilliseconds(9300)], inner.Waits);
    }

    [Fact]
    public void WaitForFrame_ShorterThanTheFlushInterval_NothingWrittenYet()
    {
        var clock = new ManualClock();
        var inner = new QueueDevice { WhileWaiting = timeout => clock.Advance(Duration.FromTimeSpan(timeout)) };
        var output = new MemoryStream();
        using var device = new PcapWriterDevice(inner, output, clock);
        inner.Inject(s_arpRequest);
        device.Receive(new byte[100]);

        device.WaitForFrame(TimeSpan.FromMilliseconds(500));
        Assert.Equal(0, output.Length);
        device.WaitForFrame(TimeSpan.FromMilliseconds(500));
        Assert.Equal(0, output.Length);
        // The next wait finds the record a second old and writes it before waiting at all.
        device.WaitForFrame(TimeSpan.FromMilliseconds(500));

        Assert.Equal(24 + 16 + 42, output.Length);
    }

    [Fact]
    public void WaitForFrame_FrameArrivesBeforeTheFlush_ReturnsTrueAndKeepsBuffering()
    {
        var clock = new ManualClock();
        var inner = new QueueDevice();
        var output = new MemoryStream();
        using var device = new PcapWriterDevice(inner, output, clock);
        inner.Inject(s_arpRequest);
        device.Receive(new byte[100]);
        inner.Inject(s_arpReply);

        Assert.True(device.WaitForFrame(TimeSpan.FromSeconds(10)));

        Assert.Equal(0, output.Length);
        Assert.Equal([TimeSpan.FromSeconds(1)], inner.Waits);
    }

    [Fact]
    public void TryTransmitAndTryReceive_OffloadDevice_MetadataPassesThroughAndFramesAreRecorded()
    {
        var inner = new OffloadDevice();
        var output = new MemoryStream();
        using var device = new PcapWriterDevice(inner, output, new ManualClock());
        var partial = new FrameOffload { Checksum = FrameChecksum.Partial, ChecksumStart = 34, ChecksumOffset = 16, SegmentSize = 1448 };
        var builder = new ArpBuilder();

        Assert.True(device.Capabilities.SegmentationOffload);
        Assert.True(device.TryTransmit(42, partial, ref builder));
        inner.Incoming = (s_arpReply, new FrameOffload { Checksum = FrameChecksum.Valid });
        var handler = new OffloadCatcher();
        Assert.True(device.TryReceive(ref handler));
        device.Flush();

        Assert.Equal(partial, inner.SentOffload);
        Assert.Equal(s_arpRequest, inner.Sent);
        Assert.Equal(FrameChecksum.Valid, handler.Offload.Checksum);
        Assert.Equal(s_arpReply, handler.Frame);
        Assert.Equal(2, device.FramesWritten);
        Assert.Equal(24 + 2 * (16 + 42), output.Length);
    }

    private readonly struct ArpBuilder : IFrameBuilder
    {
        public void Build(Span<byte> frame) => s_arpRequest.CopyTo(frame);
    }

    private struct OffloadCatcher : IFrameHandler
    {
        public FrameOffload Offload;
        public byte[]? Frame;

        public void Handle(Span<byte> frame) => Handle(frame, default);

        public void Handle(Span<byte> frame, in FrameOffload offload)
        {
            Frame = frame.ToArray();
            Offload = offload;
        }
    }

    /// <summary>A device with checksum and segmentation offload that keeps one frame each way with its metadata.</summary>
    private sealed class OffloadDevice : INetworkDevice
    {
        public (byte[] Frame, FrameOffload Offload)? Incoming { get; set; }

        public byte[]? Sent { get; private set; }

        public FrameOffload SentOffload { get; private set; }

        public string Name => "offload0";

        public Unisharp.Net.MacAddress MacAddress => QueueDevice.Address;

        public NetworkDeviceCapabilities Capabilities { get; } = new(1500, ChecksumOffload: true, SegmentationOffload: true);

        public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
        {
            if (Incoming is not { } incoming)
            {
                return false;
            }
            Incoming = null;
            handler.Handle(incoming.Frame.ToArray(), incoming.Offload);
            return true;
        }

        public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct =>
            TryTransmit(length, default(FrameOffload), ref builder);

        public bool TryTransmit<TBuilder>(int length, in FrameOffload offload, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
        {
            var frame = new byte[length];
            builder.Build(frame);
            Sent = frame;
            SentOffload = offload;
            return true;
        }

        public bool WaitForFrame(TimeSpan timeout) => Incoming is not null;

        public void Wake()
        {
        }

        public void Dispose()
        {
        }
    }

    [Fact]
    public void WaitForFrameAndWake_Called_PassedToInner()
    {
        var inner = new QueueDevice();
        using var device = new PcapWriterDevice(inner, new MemoryStream(), new ManualClock());
        inner.Inject(s_arpRequest);

        Assert.True(device.WaitForFrame(TimeSpan.FromSeconds(3)));
        device.Wake();

        Assert.Equal([TimeSpan.FromSeconds(3)], inner.Waits);
        Assert.Equal(1, inner.Wakes);
    }

    [Fact]
    public void TryTransmitAndTryReceive_SteadyState_AllocateNothing()
    {
        var inner = new RingDevice();
        using var device = new PcapWriterDevice(inner, Stream.Null, new ManualClock());
        var frame = TestFrames.Numbered(1, 1000);
        var buffer = new byte[1518];
        SteadyState.AssertAllocatesNothing(() =>
        {
            device.TrySend(frame);
            device.Receive(buffer);
        }, warmup: 100, rounds: 10_000);
        Assert.Equal(60_200, device.FramesWritten);
    }

    [Fact]
    public void Create_ReadByTcpdump_PrintsEveryFrame()
    {
        const string tcpdump = "/usr/bin/tcpdump";
        if (!File.Exists(tcpdump))
        {
            return; // Nothing to check against on this machine.
        }
        string path = Path.Combine(_directory, "arp.pcap");
        var clock = new ManualClock();
        var inner = new QueueDevice();
        inner.Inject(s_arpReply);
        using (var device = PcapWriterDevice.Create(inner, path, clock))
        {
            Assert.True(device.TrySend(s_arpRequest));
            clock.Advance(Duration.FromMilliseconds(3));
            Assert.Equal(42, device.Receive(new byte[100]));
        }

        var (exitCode, output, errors) = RunTcpdump(tcpdump, path);

        Assert.True(exitCode == 0, errors);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("2024-01-02 03:04:05.000000 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42:", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("Request who-has 198.18.0.2 tell 198.18.0.1, length 28", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("2024-01-02 03:04:05.003000 02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype ARP (0x0806), length 42:", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("Reply 198.18.0.2 is-at 02:00:00:00:00:02, length 28", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRecordHeader_NegativeTimestamp_SecondsRoundDown()
    {
        Span<byte> header = stackalloc byte[PcapWriter.RecordHeaderLength];

        PcapWriter.WriteRecordHeader(header, -1, 10, 20);

        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(header));
        Assert.Equal(999_999u, BinaryPrimitives.ReadUInt32LittleEndian(header[4..]));
        Assert.Equal(10u, BinaryPrimitives.ReadUInt32LittleEndian(header[8..]));
        Assert.Equal(20u, BinaryPrimitives.ReadUInt32LittleEndian(header[12..]));
    }

    [Fact]
    public void WriteFrame_LongerThanSnapLength_CutWithOriginalLengthKept()
    {
        var output = new MemoryStream();
        using (var writer = new PcapWriter(output, snapLength: 20, leaveOpen: true))
        {
            writer.WriteFrame(0, s_arpRequest);
        }

        byte[] file = output.ToArray();
        Assert.Equal(24 + 16 + 20, file.Length);
        Assert.Equal(20u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(16)));
        Assert.Equal(20u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(32)));
        Assert.Equal(42u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(36)));
        Assert.Equal(s_arpRequest[..20], file[40..]);
    }

    [Fact]
    public void WriteFrame_MoreThanBufferHolds_AllRecordsWrittenInOrder()
    {
        var output = new MemoryStream();
        using (var writer = new PcapWriter(output, leaveOpen: true))
        {
            for (int i = 0; i < 200; i++)
            {
                writer.WriteFrame(i, TestFrames.Numbered(i, 1000));
            }
            // One frame larger than the internal buffer, as segmentation offload can make.
            writer.WriteFrame(200, TestFrames.Numbered(200, 65_000));
        }

        byte[] file = output.ToArray();
        int offset = 24;
        for (int i = 0; i <= 200; i++)
        {
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 8));
            Assert.Equal((uint)i, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 4)));
            Assert.Equal(i, TestFrames.Sequence(file.AsSpan(offset + 16)));
            offset += 16 + length;
        }
        Assert.Equal(file.Length, offset);
    }

    private static (int ExitCode, string Output, string Errors) RunTcpdump(string tcpdump, string path)
    {
        var start = new ProcessStartInfo(tcpdump)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "-r", path, "-nn", "-e", "-tttt" })
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["TZ"] = "UTC";
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, errors.Result);
    }
}
