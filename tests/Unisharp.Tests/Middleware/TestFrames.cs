using System.Buffers.Binary;
using Unisharp.Net;

namespace Unisharp.Tests.Middleware;

/// <summary>Numbered Ethernet frames for the middleware tests.</summary>
internal static class TestFrames
{
    public static byte[] Numbered(int sequence, int length = 60)
    {
        var frame = new byte[length];
        MacAddress.Broadcast.Write(frame);
        QueueDevice.Address.Write(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x88B5);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(14), sequence);
        return frame;
    }

    public static int Sequence(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadInt32BigEndian(frame[14..]);
}
