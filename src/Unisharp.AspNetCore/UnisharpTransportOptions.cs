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

    /// <summary>The buffers of the connections' pipes; <see cref="MemoryPool{T}.Shared"/> when null.</summary>
    public MemoryPool<byte>? MemoryPool { get; set; }
}
