using System.Buffers.Binary;
using System.Diagnostics;
using Unisharp.Devices;
using Unisharp.Net;
using Unisharp.Targets.Unix.Network;
using Unisharp.Testing;
using Unisharp.Tests.Middleware;

namespace Unisharp.Targets.Unix.Tests;

/// <summary>The TAP device against the Linux side of the interface, in a namespace made for each test.</summary>
public sealed class TapDeviceTests
{
    // IEEE 802 "local experimental" EtherType: nothing else on the link sends it.
    private const ushort TestEtherType = 0x88B5;
    private static readonly MacAddress s_ourMac = MacAddress.Parse("02:00:00:00:00:01");

    [RequiresNamespacesFact]
    public void Open_AbsentInterface_CreatedAndUp()
    {
        using var ns = NetworkNamespace.Create();
        using var tap = ns.Inside(() => TapDevice.Open("ustap0", s_ourMac));
        var link = ns.Exec("ip", "-o", "link", "show", "ustap0").EnsureSuccess("ip link show");
        Assert.Contains("UP", link.Stdout);
        Assert.Equal(1500, tap.Capabilities.Mtu);
        Assert.Equal(s_ourMac, tap.MacAddress);
    }

    [RequiresNamespacesFact]
    public void TrySend_Frame_SeenByLinuxRawSocket()
    {
        using var ns = NetworkNamespace.Create();
        using var tap = ns.Inside(() => TapDevice.Open("ustap0", s_ourMac));
        using var raw = ns.Inside(() => RawSocket.Open("ustap0"));
        byte[] frame = TestFrame(MacAddress.Broadcast, s_ourMac, "from the unikernel");

        Assert.True(tap.TrySend(frame));

        var seen = raw.Receive(TimeSpan.FromSeconds(5), IsTestFrame);
        Assert.NotNull(seen);
        Assert.Equal(frame, seen);
    }

    [RequiresNamespacesFact]
    public void TryReceive_FrameFromLinux_LentToHandler()
    {
        using var ns = NetworkNamespace.Create();
        using var tap = ns.Inside(() => TapDevice.Open("ustap0", s_ourMac));
        using var raw = ns.Inside(() => RawSocket.Open("ustap0"));
        byte[] frame = TestFrame(s_ourMac, MacAddress.Parse("02:00:00:00:00:02"), "from Linux");

        raw.Send(frame);

        var buffer = new byte[2048];
        var deadline = Stopwatch.StartNew();
        byte[]? received = null;
        while (received is null && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            tap.WaitForFrame(TimeSpan.FromMilliseconds(200));
            int n;
            while ((n = tap.Receive(buffer)) > 0)
            {
                if (IsTestFrame(buffer[..n]))
                {
                    received = buffer[..n];
                }
            }
        }
        Assert.Equal(frame, received);
    }

    [RequiresNamespacesFact]
    public void EchoedBack_ThroughTheUnikernelSide_RoundTrips()
    {
        using var ns = NetworkNamespace.Create();
        using var tap = ns.Inside(() => TapDevice.Open("ustap0", s_ourMac));
        using var raw = ns.Inside(() => RawSocket.Open("ustap0"));
        byte[] frame = TestFrame(s_ourMac, MacAddress.Parse("02:00:00:00:00:02"), "ping");

        raw.Send(frame);
        // The unikernel side answers each test frame with the MACs swapped, as a reflector would.
        var echo = new Reflector(tap);
        var deadline = Stopwatch.StartNew();
        while (echo.Reflected == 0 && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            tap.WaitForFrame(TimeSpan.FromMilliseconds(200));
            while (tap.TryReceive(ref echo))
            {
            }
        }

        var back = raw.Receive(TimeSpan.FromSeconds(5), f => IsTestFrame(f) && MacAddress.Read(f.AsSpan(6)) == s_ourMac);
        Assert.NotNull(back);
        Assert.Equal(frame.AsSpan(14).ToArray(), back.AsSpan(14).ToArray());
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:02"), MacAddress.Read(back));
    }

    [RequiresNamespacesFact]
    public void TryTransmit_WhileAFrameIsLent_LentFrameIntactAndReplySent()
    {
        using var ns = NetworkNamespace.Create();
        using var tap = ns.Inside(() => TapDevice.Open("ustap0", s_ourMac));
        using var raw = ns.Inside(() => RawSocket.Open("ustap0"));
        var peer = MacAddress.Parse("02:00:00:00:00:02");
        byte[] frame = TestFrame(s_ourMac, peer, "held by the stack while it answers");
        byte[] reply = TestFrame(peer, s_ourMac, "an answer sent from inside the handler");

        raw.Send(frame);
        byte[]? held = null;
        var deadline = Stopwatch.StartNew();
        while (held is null && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            tap.WaitForFrame(TimeSpan.FromMilliseconds(200));
            var handler = new TransmitWhileHeldHandler(tap, reply);
            while (held is null && tap.TryReceive(ref handler))
            {
                Assert.True(handler.Transmitted);
                held = IsTestFrame(handler.HeldAfterTransmit) ? handler.HeldAfterTransmit : null;
            }
        }

        Assert.Equal(frame, held);
        Assert.Equal(reply, raw.Receive(TimeSpan.FromSeconds(5), f => IsTestFrame(f) && MacAddress.Read(f.AsSpan(6)) == s_ourMac));
    }

    [RequiresNamespacesFact]
    public void WaitForFrame_Woken_ReturnsEarly()
    {
        using var ns = NetworkNamespace.Create();
        using var tap = ns.Inside(() => TapDevice.Open("ustap0", s_ourMac));
        var clock = Stopwatch.StartNew();
        using var timer = new Timer(_ => tap.Wake(), null, 100, Timeout.Infinite);
        tap.WaitForFrame(TimeSpan.FromSeconds(20));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"waited {clock.Elapsed}");
    }

    [RequiresNamespacesFact]
    public void TryTransmit_LongerThanTheMtu_Refused()
    {
        using var ns = NetworkNamespace.Create();
        using var tap = ns.Inside(() => TapDevice.Open("ustap0", s_ourMac));
        Assert.Throws<ArgumentOutOfRangeException>(() => tap.TrySend(new byte[tap.Capabilities.MaxFrameLength + 1]));
    }

    [Fact]
    public void Open_BadName_ClearError() =>
        Assert.Throws<ArgumentException>(() => TapDevice.Open("a-name-far-too-long", s_ourMac));

    private static byte[] TestFrame(MacAddress destination, MacAddress source, string payload)
    {
        byte[] text = System.Text.Encoding.ASCII.GetBytes(payload);
        var frame = new byte[Math.Max(60, 14 + text.Length)];
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), TestEtherType);
        text.CopyTo(frame.AsSpan(14));
        return frame;
    }

    private static bool IsTestFrame(byte[] frame) => frame.Length >= 14 && BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) == TestEtherType;

    private struct Reflector(TapDevice tap) : IFrameHandler
    {
        public int Reflected { get; private set; }

        public void Handle(Span<byte> frame)
        {
            if (!IsTestFrame(frame.ToArray()))
            {
                return;
            }
            var source = MacAddress.Read(frame[6..]);
            var destination = MacAddress.Read(frame);
            source.Write(frame);
            destination.Write(frame[6..]);
            tap.TrySend(frame);
            Reflected++;
        }
    }
}
