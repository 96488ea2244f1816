using System.Buffers.Binary;
using Unisharp.Devices;

namespace Unisharp.Net.Tests.Interop;

/// <summary>
/// A network device over a Linux packet socket bound to one interface (the interop tests' stand-in for a TAP
/// device): raw Ethernet frames in and out, an eventfd to wake a waiting poll.
/// </summary>
internal sealed unsafe class PacketSocketDevice : INetworkDevice
{
    private readonly int _socket;
    private readonly int _wake;
    private readonly byte[] _rx = new byte[2048];
    private readonly byte[] _tx = new byte[2048];
    private bool _disposed;

    private PacketSocketDevice(string name, MacAddress mac, int socket, int wake)
    {
        Name = name;
        MacAddress = mac;
        _socket = socket;
        _wake = wake;
    }

    /// <summary>Opens the device; call it on a thread inside the interface's namespace.</summary>
    public static PacketSocketDevice Open(string interfaceName, MacAddress mac)
    {
        ushort protocol = BinaryPrimitives.ReverseEndianness(LinuxNative.ETH_P_ALL);
        int fd = LinuxNative.socket(LinuxNative.AF_PACKET, LinuxNative.SOCK_RAW, protocol);
        LinuxNative.Check(fd, "socket(AF_PACKET)");
        uint index = LinuxNative.if_nametoindex(interfaceName);
        LinuxNative.Check(index == 0 ? -1 : 0, $"if_nametoindex({interfaceName})");
        // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8].
        byte* address = stackalloc byte[20];
        new Span<byte>(address, 20).Clear();
        *(ushort*)address = LinuxNative.AF_PACKET;
        *(ushort*)(address + 2) = protocol;
        *(int*)(address + 4) = (int)index;
        LinuxNative.Check(LinuxNative.bind(fd, address, 20), "bind(AF_PACKET)");
        int one = 1;
        LinuxNative.Check(LinuxNative.setsockopt(fd, LinuxNative.SOL_PACKET, LinuxNative.PACKET_IGNORE_OUTGOING, &one, sizeof(int)), "PACKET_IGNORE_OUTGOING");
        int wake = LinuxNative.eventfd(0, LinuxNative.EFD_NONBLOCK);
        LinuxNative.Check(wake, "eventfd");
        return new PacketSocketDevice(interfaceName, mac, fd, wake);
    }

    public string Name { get; }
    public MacAddress MacAddress { get; }
    public NetworkDeviceCapabilities Capabilities { get; } = new(1500);

    public bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct
    {
        nint n;
        fixed (byte* buffer = _rx)
        {
            n = LinuxNative.recv(_socket, buffer, _rx.Length, LinuxNative.MSG_DONTWAIT);
        }
        if (n <= 0)
        {
            return false;
        }
        handler.Handle(_rx.AsSpan(0, (int)n));
        return true;
    }

    public bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Capabilities.MaxFrameLength);
        builder.Build(_tx.AsSpan(0, length));
        fixed (byte* buffer = _tx)
        {
            return LinuxNative.send(_socket, buffer, length, 0) == length;
        }
    }

    public bool WaitForFrame(TimeSpan timeout)
    {
        var fds = stackalloc LinuxNative.PollFd[2];
        fds[0] = new LinuxNative.PollFd { Fd = _socket, Events = LinuxNative.POLLIN };
        fds[1] = new LinuxNative.PollFd { Fd = _wake, Events = LinuxNative.POLLIN };
        int ready = LinuxNative.poll(fds, 2, (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue));
        if (ready > 0 && (fds[1].Revents & LinuxNative.POLLIN) != 0)
        {
            ulong drained;
            LinuxNative.read(_wake, (byte*)&drained, sizeof(ulong));
        }
        return ready > 0 && (fds[0].Revents & LinuxNative.POLLIN) != 0;
    }

    public void Wake()
    {
        ulong one = 1;
        LinuxNative.write(_wake, (byte*)&one, sizeof(ulong));
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            LinuxNative.close(_socket);
            LinuxNative.close(_wake);
        }
    }
}
