using System.Runtime.InteropServices;

namespace Unisharp.Linux.Network;

/// <summary>
/// The wait of a frame device's I/O loop: until its descriptor is readable, its wake-up eventfd is written, or the
/// timeout passes. ppoll(2) takes the timeout in nanoseconds, so a stack timer due in 300 µs (a tail-loss probe, a
/// reordering window on a fast path) fires then rather than at the next whole millisecond as with poll(2).
/// </summary>
internal static unsafe partial class FrameWait
{
    private const short POLLIN = 0x1;
    private const int EINTR = 4;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "ppoll", SetLastError = true)]
    private static partial int PPoll(PollFd* fds, nuint count, TimeSpec* timeout, void* signalMask);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nuint count);

    /// <summary>
    /// Waits as described above and drains the eventfd if it was written; true when <paramref name="frameFd"/> is
    /// readable. A negative or over-a-day timeout waits without limit; an interrupted wait returns false.
    /// </summary>
    /// <exception cref="IOException">ppoll failed for another reason than a signal.</exception>
    public static bool Wait(int frameFd, int wakeFd, TimeSpan timeout)
    {
        var fds = stackalloc PollFd[2];
        fds[0] = new PollFd { Fd = frameFd, Events = POLLIN };
        fds[1] = new PollFd { Fd = wakeFd, Events = POLLIN };
        TimeSpec limit = default;
        TimeSpec* limitPointer = &limit;
        if (timeout < TimeSpan.Zero || timeout >= TimeSpan.FromDays(1))
        {
            limitPointer = null;
        }
        else
        {
            long ticks = timeout.Ticks;
            limit.Seconds = ticks / TimeSpan.TicksPerSecond;
            limit.Nanoseconds = ticks % TimeSpan.TicksPerSecond * 100;
        }
        if (PPoll(fds, 2, limitPointer, null) < 0)
        {
            int error = Marshal.GetLastPInvokeError();
            return error == EINTR ? false : throw new IOException($"ppoll: {Marshal.GetPInvokeErrorMessage(error)} (errno {error})");
        }
        if ((fds[1].Revents & POLLIN) != 0)
        {
            ulong counter;
            Read(wakeFd, (byte*)&counter, sizeof(ulong));
        }
        return (fds[0].Revents & POLLIN) != 0;
    }
}
