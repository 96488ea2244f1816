namespace Unisharp.Linux;

/// <summary>
/// How a <see cref="FileBlockDevice"/> moves bytes: io_uring where the kernel has it, pread/pwrite on
/// the thread pool where it does not. Each call is one system-level transfer; the result is the byte
/// count, or a negated errno. The caller keeps the memory pinned until the call completes.
/// </summary>
internal interface IFileIo : IDisposable
{
    /// <summary>What the engine is, for logs and benchmarks: <c>io_uring</c> or <c>pread</c>.</summary>
    string Kind { get; }

    ValueTask<int> ReadAsync(nint address, int length, long offset);

    /// <param name="forceUnitAccess">The write is durable when it completes (<c>RWF_DSYNC</c>, FUA on the device).</param>
    ValueTask<int> WriteAsync(nint address, int length, long offset, bool forceUnitAccess);

    /// <summary>Makes completed writes durable (<c>fdatasync</c>, a cache flush on the device).</summary>
    ValueTask<int> FlushAsync();
}
