using Unisharp.Devices;

namespace Unisharp.Tests.Middleware;

/// <summary>
/// Checks a device's promise that a handler may transmit while it holds a received frame: it transmits
/// <paramref name="reply"/> on the same device from inside the handler, then copies what the lent span holds afterwards.
/// </summary>
public struct TransmitWhileHeldHandler(INetworkDevice device, byte[] reply) : IFrameHandler
{
    /// <summary>The lent frame as it was after the transmit returned.</summary>
    public byte[] HeldAfterTransmit { get; private set; } = [];

    public bool Transmitted { get; private set; }

    public void Handle(Span<byte> frame)
    {
        Transmitted = device.TrySend(reply);
        HeldAfterTransmit = frame.ToArray();
    }

    public void Handle(Span<byte> frame, in FrameOffload offload) => Handle(frame);
}
