using System.Buffers;

namespace Unisharp.AspNetCore;

/// <summary>Settings of the Kestrel transport over our stack.</summary>
public sealed class UnisharpTransportOptions
{
    /// <summary>
    /// How many received bytes may wait in a connection's input pipe before the transport stops reading (and our TCP
    /// receive window closes); 0 for no limit. 1 MiB by default, as Kestrel's socket transport.
    /// </summary>
    public long MaxReadBufferSize { get; set; } = 1024 * 1024;

    /// <summary>How many bytes Kestrel may flush ahead of the TCP send buffer before its flushes wait; 64 KiB by default.</summary>
    public long MaxWriteBufferSize { get; set; } = 64 * 1024;

    /// <summary>Disables Nagle's algorithm on accepted connections (Kestrel's socket transport does); true by default.</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>
    /// Runs Kestrel's code where the transport completes a read, instead of queueing it to the thread pool (Kestrel's
    /// socket transport has the same switch): no thread hop per request. Under the stack's
    /// <c>TcpOptions.InlineContinuations</c> that place is the stack's I/O thread, so, as there, the app's code must not
    /// block (no synchronous waits or I/O, no long computation) or every connection stalls. Default off.
    /// </summary>
    public bool UnsafePreferInlineScheduling { get; set; }

    /// <summary>
    /// Under the host's sockets (<c>--net socket</c>), serves with Kestrel's own socket transport (bound to the stack's
    /// address) instead of ours over the host's sockets; true by default. Over our stack this has no effect.
    /// </summary>
    public bool KestrelSocketsOnHost { get; set; } = true;

    /// <summary>The buffers of the connections' pipes; <see cref="MemoryPool{T}.Shared"/> when null.</summary>
    public MemoryPool<byte>? MemoryPool { get; set; }
}
