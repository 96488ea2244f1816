using System.Numerics;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Unisharp.Linux;

/// <summary>
/// An io_uring of our own: the rings are set up and mapped here (no native library to ship), callers
/// submit under a lock, and one reaper thread waits for completions and completes each caller's
/// <see cref="ValueTask{TResult}"/> on that thread. Operations are pooled: nothing is allocated per request.
/// </summary>
/// <remarks>
/// <para>Disks share rings (see <see cref="IoUringFileIo"/>): a copy from one disk to another then runs on
/// one thread, which submits the next request from the completion of the last, so the kernel's
/// completion work lands on the thread that is already waiting for it: one wake-up per request, where a
/// ring per disk costs two (the difference halves a large copy's speed on a busy host).</para>
/// <para>Each disk reserves its queue depth from <see cref="Capacity"/>, so a submission queue entry and
/// an operation are always free.</para>
/// </remarks>
internal sealed unsafe class IoUring : IDisposable
{
    // include/uapi/linux/io_uring.h
    private const byte IORING_OP_NOP = 0;
    private const byte IORING_OP_FSYNC = 3;
    private const byte IORING_OP_READ = 22;
    private const byte IORING_OP_WRITE = 23;
    private const uint IORING_FSYNC_DATASYNC = 1;
    private const uint IORING_ENTER_GETEVENTS = 1;
    private const uint IORING_FEAT_SINGLE_MMAP = 1;
    private const uint IORING_SETUP_COOP_TASKRUN = 1 << 8;
    private const long IORING_OFF_SQ_RING = 0;
    private const long IORING_OFF_CQ_RING = 0x8000000;
    private const long IORING_OFF_SQES = 0x10000000;
    private const int SqeSize = 64;
    private const int CqeSize = 16;
    private const ulong StopMarker = ulong.MaxValue;
    private const int EBUSY = 16;

    // The ring whose reaper is this thread, if any.
    [ThreadStatic]
    private static IoUring? t_reaping;

    private readonly int _ringFd;
    private readonly uint _sqEntries;
    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint _sqMask;
    private readonly byte* _sqes;
    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint _cqMask;
    private readonly byte* _cqes;
    private readonly void* _sqRing;
    private readonly nuint _sqRingSize;
    private readonly void* _cqRing;
    private readonly nuint _cqRingSize;
    private readonly nuint _sqesSize;
    private readonly Operation[] _operations;
    private readonly Stack<int> _free;
    private readonly Lock _lock = new();
    private readonly Thread _reaper;
    private bool _closed;
    // Entries pushed by the reaper thread and not yet given to io_uring_enter.
    private int _deferred;

    /// <summary>
    /// Sets up a ring with room for <paramref name="depth"/> requests, or returns null with the reason when
    /// the kernel has no io_uring (too old, or disabled by sysctl or seccomp).
    /// </summary>
    public static IoUring? TryCreate(int depth, out string? reason)
    {
        uint entries = BitOperations.RoundUpToPowerOf2((uint)Math.Max(depth, 1));
        // Our reaper always waits in io_uring_enter when idle, so the kernel need not interrupt it to run
        // completion work (COOP_TASKRUN, Linux 5.19); older kernels refuse the flag, and get none.
        var parameters = new IoUringParams { Flags = IORING_SETUP_COOP_TASKRUN };
        long ringFd = BlockNative.Syscall(BlockNative.SYS_io_uring_setup, entries, (long)&parameters, 0, 0, 0, 0);
        if (ringFd < 0 && Marshal.GetLastPInvokeError() == BlockNative.EINVAL)
        {
            parameters = new IoUringParams();
            ringFd = BlockNative.Syscall(BlockNative.SYS_io_uring_setup, entries, (long)&parameters, 0, 0, 0, 0);
        }
        if (ringFd < 0)
        {
            reason = $"io_uring_setup failed: {BlockNative.Describe(Marshal.GetLastPInvokeError())}";
            return null;
        }
        try
        {
            reason = null;
            return new IoUring((int)ringFd, parameters);
        }
        catch (IOException e)
        {
            BlockNative.Close((int)ringFd);
            reason = e.Message;
            return null;
        }
    }

    private IoUring(int ringFd, IoUringParams p)
    {
        _ringFd = ringFd;
        _sqEntries = p.SqEntries;
        _sqRingSize = p.SqOff.Array + p.SqEntries * sizeof(uint);
        _cqRingSize = p.CqOff.Cqes + p.CqEntries * (uint)CqeSize;
        bool single = (p.Features & IORING_FEAT_SINGLE_MMAP) != 0;
        if (single)
        {
            _sqRingSize = _cqRingSize = Math.Max(_sqRingSize, _cqRingSize);
        }
        _sqRing = Map(_sqRingSize, IORING_OFF_SQ_RING);
        _cqRing = single ? _sqRing : Map(_cqRingSize, IORING_OFF_CQ_RING);
        _sqesSize = p.SqEntries * (nuint)SqeSize;
        _sqes = (byte*)Map(_sqesSize, IORING_OFF_SQES);

        byte* sq = (byte*)_sqRing;
        _sqHead = (uint*)(sq + p.SqOff.Head);
        _sqTail = (uint*)(sq + p.SqOff.Tail);
        _sqMask = *(uint*)(sq + p.SqOff.RingMask);
        // Entry i of the submission array always names SQE i: we fill SQEs in ring order.
        uint* array = (uint*)(sq + p.SqOff.Array);
        for (uint i = 0; i < p.SqEntries; i++)
        {
            array[i] = i;
        }
        byte* cq = (byte*)_cqRing;
        _cqHead = (uint*)(cq + p.CqOff.Head);
        _cqTail = (uint*)(cq + p.CqOff.Tail);
        _cqMask = *(uint*)(cq + p.CqOff.RingMask);
        _cqes = cq + p.CqOff.Cqes;

        _operations = new Operation[p.SqEntries];
        _free = new Stack<int>((int)p.SqEntries);
        for (int i = (int)p.SqEntries - 1; i >= 0; i--)
        {
            _operations[i] = new Operation(this, i);
            _free.Push(i);
        }
        _reaper = new Thread(Reap) { IsBackground = true, Name = "io_uring reaper" };
        _reaper.Start();
    }

    /// <summary>How many requests the ring holds at once.</summary>
    public int Capacity => _operations.Length;

    /// <summary>The queue depth the disks on this ring have reserved (changed only by <see cref="IoUringFileIo"/>).</summary>
    internal int Reserved { get; set; }

    public ValueTask<int> ReadAsync(int fd, nint address, int length, long offset) =>
        Submit(fd, IORING_OP_READ, address, (uint)length, (ulong)offset, 0);

    public ValueTask<int> WriteAsync(int fd, nint address, int length, long offset, bool forceUnitAccess) =>
        Submit(fd, IORING_OP_WRITE, address, (uint)length, (ulong)offset, forceUnitAccess ? (uint)BlockNative.RWF_DSYNC : 0);

    public ValueTask<int> FlushAsync(int fd) => Submit(fd, IORING_OP_FSYNC, 0, 0, 0, IORING_FSYNC_DATASYNC);

    private ValueTask<int> Submit(int fd, byte opcode, nint address, uint length, ulong offset, uint opFlags)
    {
        Operation operation;
        lock (_lock)
        {
            if (_closed)
            {
                throw new ObjectDisposedException(nameof(IoUring));
            }
            if (!_free.TryPop(out int index))
            {
                throw new InvalidOperationException("more io_uring requests than the queue depth");
            }
            operation = _operations[index];
            Push(fd, opcode, address, length, offset, opFlags, (ulong)index);
        }
        return new ValueTask<int>(operation, operation.Version);
    }

    // Writes one SQE and publishes it; the caller holds _lock. A request made on the reaper thread (from a
    // completion) is left for the reaper to submit together with its next wait, in one system call;
    // any other thread submits it at once.
    private void Push(int fd, byte opcode, nint address, uint length, ulong offset, uint opFlags, ulong userData)
    {
        uint tail = *_sqTail;
        byte* sqe = _sqes + (tail & _sqMask) * SqeSize;
        new Span<byte>(sqe, SqeSize).Clear();
        sqe[0] = opcode;
        *(int*)(sqe + 4) = fd;
        *(ulong*)(sqe + 8) = offset;
        *(ulong*)(sqe + 16) = (ulong)address;
        *(uint*)(sqe + 24) = length;
        *(uint*)(sqe + 28) = opFlags;
        *(ulong*)(sqe + 32) = userData;
        // The kernel reads the SQE after it sees the new tail: a release store orders the two.
        Volatile.Write(ref *_sqTail, tail + 1);
        if (t_reaping == this)
        {
            _deferred++;
            return;
        }
        // io_uring_enter takes as many of the published entries as it is told, oldest first: counting one
        // per push keeps every entry counted once, whichever thread's call submits it.
        while (Enter(1, 0, 0) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is not (BlockNative.EINTR or BlockNative.EAGAIN or EBUSY))
            {
                throw new IOException($"io_uring_enter failed: {BlockNative.Describe(errno)}");
            }
            Thread.Yield();
        }
    }

    private long Enter(int toSubmit, int minComplete, uint flags) =>
        BlockNative.Syscall(BlockNative.SYS_io_uring_enter, _ringFd, toSubmit, minComplete, flags, 0, 0);

    private void Reap()
    {
        t_reaping = this;
        while (true)
        {
            uint head = *_cqHead;
            // Acquire: the CQEs before the tail are complete once we see it.
            uint tail = Volatile.Read(ref *_cqTail);
            int toSubmit;
            lock (_lock)
            {
                toSubmit = _deferred;
                _deferred = 0;
            }
            if (head == tail || toSubmit > 0)
            {
                // Submit what completions asked for and, with nothing to reap, wait: one system call.
                bool wait = head == tail;
                long submitted = Enter(toSubmit, wait ? 1 : 0, wait ? IORING_ENTER_GETEVENTS : 0);
                if (submitted < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno is not (BlockNative.EINTR or BlockNative.EAGAIN or EBUSY))
                    {
                        // The ring is unusable: fail what is in flight rather than hang.
                        FailAll(-BlockNative.EIO);
                        Unmap();
                        return;
                    }
                    submitted = 0;
                }
                if (submitted < toSubmit)
                {
                    lock (_lock)
                    {
                        _deferred += toSubmit - (int)submitted;
                    }
                }
                if (wait)
                {
                    continue;
                }
            }
            bool stop = false;
            for (; head != tail; head++)
            {
                byte* cqe = _cqes + (head & _cqMask) * CqeSize;
                ulong userData = *(ulong*)cqe;
                int result = *(int*)(cqe + 8);
                if (userData == StopMarker)
                {
                    stop = true;
                }
                else
                {
                    _operations[(int)userData].Complete(result);
                }
            }
            Volatile.Write(ref *_cqHead, head);
            if (stop)
            {
                Unmap();
                return;
            }
        }
    }

    private void FailAll(int result)
    {
        var pending = new List<Operation>();
        lock (_lock)
        {
            _closed = true;
            var free = new HashSet<int>(_free);
            for (int i = 0; i < _operations.Length; i++)
            {
                if (!free.Contains(i))
                {
                    pending.Add(_operations[i]);
                }
            }
        }
        // Outside the lock: completions may run the callers' code.
        foreach (var operation in pending)
        {
            try
            {
                operation.Complete(result);
            }
            catch (InvalidOperationException)
            {
                // Already completed, its caller has not taken the result yet.
            }
        }
    }

    private void Release(int index)
    {
        lock (_lock)
        {
            _free.Push(index);
        }
    }

    private void* Map(nuint size, long offset)
    {
        void* address = BlockNative.Mmap(null, size, BlockNative.PROT_READ | BlockNative.PROT_WRITE,
            BlockNative.MAP_SHARED | BlockNative.MAP_POPULATE, _ringFd, offset);
        if (address == (void*)-1)
        {
            throw new IOException($"mmap of the io_uring failed: {BlockNative.Describe(Marshal.GetLastPInvokeError())}");
        }
        return address;
    }

    /// <summary>Stops the reaper, which then unmaps the ring; nothing may be in flight.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
            // The reaper sleeps in io_uring_enter: a no-op's completion wakes it to stop.
            Push(-1, IORING_OP_NOP, 0, 0, 0, 0, StopMarker);
        }
        // Completions may run the caller's code on the reaper, which can end in this Dispose: then the
        // reaper cleans up when it returns to its loop, and must not wait for itself.
        if (Thread.CurrentThread != _reaper)
        {
            _reaper.Join();
        }
    }

    // Called by the reaper as it exits: the rings are no longer used by anyone.
    private void Unmap()
    {
        BlockNative.Munmap(_sqes, _sqesSize);
        if (_cqRing != _sqRing)
        {
            BlockNative.Munmap(_cqRing, _cqRingSize);
        }
        BlockNative.Munmap(_sqRing, _sqRingSize);
        BlockNative.Close(_ringFd);
    }

    /// <summary>One request slot: its completion, reused once the caller has taken the result.</summary>
    private sealed class Operation(IoUring ring, int index) : IValueTaskSource<int>
    {
        // Continuations run on the reaper thread: the caller's next request is then submitted from the
        // thread that will reap it, with no hop through the thread pool. Callers must not block in them
        // (our block code never does; it only awaits).
        private ManualResetValueTaskSourceCore<int> _core = new() { RunContinuationsAsynchronously = false };

        public short Version => _core.Version;

        public void Complete(int result) => _core.SetResult(result);

        public int GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                _core.Reset();
                ring.Release(index);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }

    // struct io_uring_params and its two offset structs (120 bytes).
    [StructLayout(LayoutKind.Sequential)]
    private struct IoUringParams
    {
        public uint SqEntries;
        public uint CqEntries;
        public uint Flags;
        public uint SqThreadCpu;
        public uint SqThreadIdle;
        public uint Features;
        public uint WqFd;
        public fixed uint Reserved[3];
        public SqRingOffsets SqOff;
        public CqRingOffsets CqOff;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SqRingOffsets
    {
        public uint Head;
        public uint Tail;
        public uint RingMask;
        public uint RingEntries;
        public uint Flags;
        public uint Dropped;
        public uint Array;
        public uint Reserved1;
        public ulong UserAddr;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CqRingOffsets
    {
        public uint Head;
        public uint Tail;
        public uint RingMask;
        public uint RingEntries;
        public uint Overflow;
        public uint Cqes;
        public uint Flags;
        public uint Reserved1;
        public ulong UserAddr;
    }
}
