using System.Runtime.InteropServices;

namespace Unisharp.Linux;

/// <summary>
/// The fallback engine: blocking pread/pwrite on thread-pool threads, so requests still run in parallel
/// (up to the device's queue depth) where io_uring is missing or disabled.
/// </summary>
internal sealed unsafe class ThreadPoolFileIo(int fd) : IFileIo
{
    public string Kind => "pread";

    public ValueTask<int> ReadAsync(nint address, int length, long offset) =>
        new(Task.Run(() => Result(BlockNative.Pread(fd, (byte*)address, (nuint)length, offset))));

    public ValueTask<int> WriteAsync(nint address, int length, long offset, bool forceUnitAccess) =>
        new(Task.Run(() =>
        {
            if (!forceUnitAccess)
            {
                return Result(BlockNative.Pwrite(fd, (byte*)address, (nuint)length, offset));
            }
            // A FUA write of this range alone, as io_uring's RWF_DSYNC, not a flush of the whole file.
            var vector = new BlockNative.IoVec { Base = (void*)address, Length = (nuint)length };
            return Result(BlockNative.Pwritev2(fd, &vector, 1, offset, BlockNative.RWF_DSYNC));
        }));

    public ValueTask<int> FlushAsync() =>
        new(Task.Run(() => BlockNative.Fdatasync(fd) < 0 ? -Marshal.GetLastPInvokeError() : 0));

    private static int Result(nint result) => result < 0 ? -Marshal.GetLastPInvokeError() : (int)result;

    public void Dispose()
    {
    }
}
