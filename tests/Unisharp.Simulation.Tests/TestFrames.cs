using System.Buffers.Binary;
using Unisharp.Net;

namespace Unisharp.Simulation.Tests;

/// <summary>Ethernet frames for tests: a header and a 32-bit sequence number in the payload.</summary>
internal static class TestFrames
{
    /// <summary>An experimental EtherType (IEEE 802 local experimental 1).</summary>
    public const ushort EtherType = 0x88B5;

    public static byte[] Build(MacAddress destination, MacAddress source, int sequence, int length = 64)
    {
        var frame = new byte[length];
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherType);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(14), sequence);
        return frame;
    }

    public static MacAddress Destination(ReadOnlySpan<byte> frame) => MacAddress.Read(frame);

    public static MacAddress Source(ReadOnlySpan<byte> frame) => MacAddress.Read(frame[6..]);

    public static int Sequence(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadInt32BigEndian(frame[14..]);

    public static readonly MacAddress A = MacAddress.Parse("02:00:00:00:00:0a");
    public static readonly MacAddress B = MacAddress.Parse("02:00:00:00:00:0b");
    public static readonly MacAddress C = MacAddress.Parse("02:00:00:00:00:0c");
}
