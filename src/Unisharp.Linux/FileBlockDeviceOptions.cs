using Unisharp.Logging;

namespace Unisharp.Linux;

/// <summary>How <see cref="FileBlockDevice.Open"/> opens a disk.</summary>
public sealed record FileBlockDeviceOptions
{
    /// <summary>
    /// Bypass the host's page cache (<c>O_DIRECT</c>), so what is measured and made durable is the device.
    /// Where the filesystem refuses it (tmpfs on older kernels) the disk opens buffered with a warning.
    /// </summary>
    public bool Direct { get; init; } = true;

    /// <summary>Every write is durable when it completes (<c>RWF_DSYNC</c>: a FUA write on the device).</summary>
    public bool WriteThrough { get; init; }

    /// <summary>Use io_uring where the kernel has it; otherwise (or when false) pread/pwrite on the thread pool.</summary>
    public bool UseIoUring { get; init; } = true;

    /// <summary>Where warnings (no <c>O_DIRECT</c>, no io_uring) go; nowhere when null.</summary>
    public Logger? Log { get; init; }

    /// <summary>
    /// With io_uring, a request alone in flight goes through pread/pwrite on a pool thread, which is faster
    /// at queue depth 1 (see <see cref="FileBlockDevice"/>); tests turn this off to drive io_uring alone.
    /// </summary>
    internal bool ThreadsForLoneRequests { get; init; } = true;

    /// <summary>Tests set this to act as if the filesystem refused <c>O_DIRECT</c>, with this reason.</summary>
    internal string? RefuseDirectForTests { get; init; }

    /// <summary>The defaults: direct, io_uring, writes durable on <see cref="FileBlockDevice.FlushAsync"/>.</summary>
    public static FileBlockDeviceOptions Default { get; } = new();
}
