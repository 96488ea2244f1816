using Unisharp.Net;

namespace Unisharp.Devices;

/// <summary>
/// An Ethernet device: the unikernel's network card. Frames move without copies or allocations:
/// <see cref="TryReceive{THandler}"/> lends the caller the received frame for the duration of a call,
/// and <see cref="TryTransmit{TBuilder}(int, ref TBuilder)"/> asks for a length and lets the caller build the frame in
/// the device's own buffer (smoltcp's receive and transmit tokens).
/// </summary>
/// <remarks>
/// One thread drives a device (the stack's I/O loop); only <see cref="Wake"/> may be called from others.
/// A frame handler may transmit on the same device while it holds a received frame (the stack answers a segment
/// before it lets go of it): a device keeps the lent frame intact until the handler returns, whatever is transmitted.
/// </remarks>
public interface INetworkDevice : IDisposable
{
    /// <summary>A short name for logs, such as <c>tap0</c> or <c>eth0</c>.</summary>
    string Name { get; }

    MacAddress MacAddress { get; }

    NetworkDeviceCapabilities Capabilities { get; }

    /// <summary>
    /// Receives one frame, if one is pending, and hands it to <paramref name="handler"/>; the span is
    /// valid only during that call (the handler may modify it in place). Returns false when no frame is pending.
    /// </summary>
    bool TryReceive<THandler>(ref THandler handler) where THandler : IFrameHandler, allows ref struct;

    /// <summary>
    /// Transmits one frame of <paramref name="length"/> bytes that <paramref name="builder"/> writes into
    /// the device's buffer. Returns false when the device cannot take a frame now (its queue is full);
    /// the caller retries later. A builder only writes the frame: it may be called for a frame that is
    /// then not taken.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The length is over <see cref="NetworkDeviceCapabilities.MaxFrameLength"/>.</exception>
    bool TryTransmit<TBuilder>(int length, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct;

    /// <summary>
    /// As <see cref="TryTransmit{TBuilder}(int, ref TBuilder)"/>, for a frame with <paramref name="offload"/> metadata:
    /// a partial checksum to complete or a large TCP segment to cut. Callers pass metadata only as the device's
    /// <see cref="Capabilities"/> allow; a device without offload takes only plain frames.
    /// </summary>
    /// <exception cref="NotSupportedException">Metadata given to a device that does not offload.</exception>
    bool TryTransmit<TBuilder>(int length, in FrameOffload offload, ref TBuilder builder) where TBuilder : IFrameBuilder, allows ref struct =>
        offload.IsNone ? TryTransmit(length, ref builder) : throw new NotSupportedException($"device {Name} does not offload");

    /// <summary>
    /// Blocks until a frame is pending, <paramref name="timeout"/> has passed or <see cref="Wake"/> is called.
    /// Returns true when a frame may be pending.
    /// </summary>
    bool WaitForFrame(TimeSpan timeout);

    /// <summary>Ends a <see cref="WaitForFrame"/> in progress (or the next one) early. Safe from any thread.</summary>
    void Wake();
}

/// <summary>Takes a received frame, lent by <see cref="INetworkDevice.TryReceive{THandler}"/>.</summary>
public interface IFrameHandler
{
    void Handle(Span<byte> frame);

    /// <summary>
    /// Takes a frame that carries <paramref name="offload"/> metadata (a partial or verified checksum, a segment
    /// larger than the MTU). Devices call it only for such frames, and only when their capabilities say they offload.
    /// </summary>
    void Handle(Span<byte> frame, in FrameOffload offload) => Handle(frame);
}

/// <summary>Writes a frame into the buffer lent by <see cref="INetworkDevice.TryTransmit{TBuilder}(int, ref TBuilder)"/>.</summary>
public interface IFrameBuilder
{
    void Build(Span<byte> frame);
}
