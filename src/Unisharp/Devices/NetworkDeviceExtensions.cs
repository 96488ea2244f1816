namespace Unisharp.Devices;

/// <summary>Conveniences over <see cref="INetworkDevice"/> for callers that already hold a frame in a buffer.</summary>
public static class NetworkDeviceExtensions
{
    /// <summary>Transmits a copy of <paramref name="frame"/>; false when the device's queue is full.</summary>
    public static bool TrySend(this INetworkDevice device, ReadOnlySpan<byte> frame)
    {
        var builder = new CopyingBuilder(frame);
        return device.TryTransmit(frame.Length, ref builder);
    }

    /// <summary>Receives one frame into <paramref name="buffer"/>; returns its length, or 0 when none is pending.</summary>
    /// <remarks>A frame longer than the buffer is truncated to it.</remarks>
    public static int Receive(this INetworkDevice device, Span<byte> buffer)
    {
        var handler = new CopyingHandler(buffer);
        return device.TryReceive(ref handler) ? handler.Length : 0;
    }

    private readonly ref struct CopyingBuilder(ReadOnlySpan<byte> source) : IFrameBuilder
    {
        private readonly ReadOnlySpan<byte> _source = source;

        public void Build(Span<byte> frame) => _source.CopyTo(frame);
    }

    private ref struct CopyingHandler(Span<byte> destination) : IFrameHandler
    {
        private readonly Span<byte> _destination = destination;

        public int Length { get; private set; }

        public void Handle(Span<byte> frame)
        {
            int n = Math.Min(frame.Length, _destination.Length);
            frame[..n].CopyTo(_destination);
            Length = n;
        }

        public void Handle(Span<byte> frame, in FrameOffload offload) => Handle(frame);
    }
}
