using Unisharp.Devices;
using Unisharp.Net;
using Unisharp.Targets.MicroVm.Network;
using Unisharp.Testing;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// The guest's raw-frame device on one end of a veth pair in a namespace made for the test (standing in for the
/// guest's eth0), with a raw socket on the other end as the wire. Frames only, no addresses.
/// </summary>
public sealed class PacketSocketDeviceTests
{
    private static readonly MacAddress s_ourMac = new(0x02_00_00_00_00_0A);
    private static readonly MacAddress s_peerMac = new(0x02_00_00_00_00_0B);

    private static NetworkNamespace CreateLink()
    {
        var ns = NetworkNamespace.Create("usvm");
        try
        {
            ns.Exec("ip", "link", "add", "vm0", "mtu", "1400", "address", s_ourMac.ToString(), "type", "veth",
                "peer", "name", "wire0", "address", s_peerMac.ToString()).EnsureSuccess("add veth");
            // Only the wire's end is brought up here: the device must bring its own end up, as eth0 starts down.
            ns.Exec("ip", "link", "set", "wire0", "up").EnsureSuccess("wire0 up");
            return ns;
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    private static byte[] Frame(MacAddress destination, MacAddress source, byte marker)
    {
        byte[] frame = new byte[60];
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        frame[12] = 0x88; // IEEE 802 local experimental EtherType 0x88B5
        frame[13] = 0xB5;
        frame[14] = marker;
        return frame;
    }

    [RequiresNamespacesFact]
    public void Open_DownInterface_BringsItUpAndReadsMacAndMtu()
    {
        using var ns = CreateLink();
        using var device = ns.Inside(() => PacketSocketDevice.Open("vm0"));

        Assert.Equal(s_ourMac, device.MacAddress);
        Assert.Equal(1400, device.Capabilities.Mtu);
        Assert.Contains("UP", ns.Exec("ip", "link", "show", "vm0").Stdout);
    }

    [RequiresNamespacesFact]
    public void TryTransmit_Frame_ArrivesOnTheWire()
    {
        using var ns = CreateLink();
        using var device = ns.Inside(() => PacketSocketDevice.Open("vm0"));
        using var wire = ns.Inside(() => RawSocket.Open("wire0"));
        byte[] frame = Frame(s_peerMac, s_ourMac, 0x42);

        // The veth carrier comes up a moment after both ends are up: frames before that are dropped, so resend.
        byte[]? seen = null;
        for (int attempt = 0; attempt < 50 && seen is null; attempt++)
        {
            Assert.True(device.TrySend(frame));
            seen = wire.Receive(TimeSpan.FromMilliseconds(200), f => f.Length >= 15 && f[12] == 0x88 && f[13] == 0xB5);
        }
        Assert.NotNull(seen);
        Assert.Equal(frame, seen);
    }

    [RequiresNamespacesFact]
    public void TryReceive_FrameFromTheWire_IsLentToTheHandlerAndOwnFramesAreNot()
    {
        using var ns = CreateLink();
        using var device = ns.Inside(() => PacketSocketDevice.Open("vm0"));
        using var wire = ns.Inside(() => RawSocket.Open("wire0"));
        Assert.True(device.TrySend(Frame(s_peerMac, s_ourMac, 0x01)));
        byte[] frame = Frame(s_ourMac, s_peerMac, 0x02);

        byte[] buffer = new byte[device.Capabilities.MaxFrameLength];
        int length = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            // Resent until it arrives: the veth carrier comes up a moment after both ends are up.
            wire.Send(frame);
            device.WaitForFrame(TimeSpan.FromMilliseconds(200));
            length = device.Receive(buffer);
            // Skip anything the kernel itself sends on a fresh link; our own frame (marker 1) must never come back.
            if (length >= 15 && buffer[12] == 0x88 && buffer[13] == 0xB5)
            {
                break;
            }
        }
        Assert.Equal(frame, buffer[..length]);
    }

    [RequiresNamespacesFact]
    public void WaitForFrame_Woken_ReturnsBeforeTheTimeout()
    {
        using var ns = CreateLink();
        using var device = ns.Inside(() => PacketSocketDevice.Open("vm0"));
        device.Wake();

        var started = DateTime.UtcNow;
        device.WaitForFrame(TimeSpan.FromSeconds(30));

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20));
    }

    [RequiresNamespacesFact]
    public void Open_NoSuchInterface_ThrowsIOException()
    {
        using var ns = NetworkNamespace.Create("usvm");

        var e = Assert.Throws<InvalidOperationException>(() => ns.Inside(() => PacketSocketDevice.Open("eth9")));
        Assert.IsType<IOException>(e.InnerException);
    }
}
