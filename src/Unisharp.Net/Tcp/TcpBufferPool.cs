using System.Buffers;

namespace Unisharp.Net.Tcp;

/// <summary>
/// The rings of connections' send and receive buffers, kept for the next connection: a connection per request must not
/// cost two fresh 256 KiB arrays (large-object allocations, then full collections), which the shared pool's few arrays
/// per size cannot spare once many connections come and go. Keeps up to <paramref name="maxRetainedBytes"/> of rings,
/// by exact length. Not thread-safe: used under the <see cref="TcpLayer"/>'s lock.
/// </summary>
internal sealed class TcpBufferPool(long maxRetainedBytes) : ArrayPool<byte>
{
    private readonly Dictionary<int, Stack<byte[]>> _free = [];
    private long _retainedBytes;

    /// <summary>Bytes held for reuse now.</summary>
    public long RetainedBytes => _retainedBytes;

    public override byte[] Rent(int minimumLength)
    {
        if (_free.TryGetValue(minimumLength, out var stack) && stack.TryPop(out var array))
        {
            _retainedBytes -= array.Length;
            return array;
        }
        return minimumLength == 0 ? [] : GC.AllocateUninitializedArray<byte>(minimumLength);
    }

    public override void Return(byte[] array, bool clearArray = false)
    {
        if (array.Length == 0 || _retainedBytes + array.Length > maxRetainedBytes)
        {
            return;
        }
        if (clearArray)
        {
            Array.Clear(array);
        }
        if (!_free.TryGetValue(array.Length, out var stack))
        {
            stack = new Stack<byte[]>();
            _free.Add(array.Length, stack);
        }
        stack.Push(array);
        _retainedBytes += array.Length;
    }
}
