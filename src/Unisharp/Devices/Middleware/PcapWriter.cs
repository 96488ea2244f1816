using System.Buffers.Binary;

namespace Unisharp.Devices.Middleware;

/// <summary>
/// Writes Ethernet frames to a stream in the classic libpcap format (microsecond timestamps,
/// <c>LINKTYPE_ETHERNET</c>), readable by tcpdump and Wireshark. Shared by <c>PcapWriterDevice</c>
/// and the network simulator.
/// </summary>
/// <remarks>
/// Records go through an internal buffer, so writing a frame allocates nothing and costs no system
/// call until the buffer fills or <see cref="Flush"/> is called. Not thread-safe: one writer at a time.
/// </remarks>
public sealed class PcapWriter : IDisposable
{
    /// <summary>The classic pcap magic number for microsecond timestamps.</summary>
    public const uint Magic = 0xA1B2C3D4;

    /// <summary>The link type of Ethernet II frames (tcpdump.org link-layer header types).</summary>
    public const uint LinkTypeEthernet = 1;

    /// <summary>Length of the file header.</summary>
    public const int FileHeaderLength = 24;

    /// <summary>Length of the header before each frame.</summary>
    public const int RecordHeaderLength = 16;

    /// <summary>The default largest number of bytes kept of each frame (tcpdump's classic default).</summary>
    public const int DefaultSnapLength = 65535;

    private const int BufferLength = 64 * 1024;

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly int _snapLength;
    private readonly byte[] _buffer = new byte[BufferLength];
    private int _buffered;
    private bool _disposed;

    /// <summary>Writes the pcap file header to <paramref name="output"/>; frames follow with <see cref="WriteFrame"/>.</summary>
    /// <param name="output">A writable stream, positioned where the file starts.</param>
    /// <param name="snapLength">Frames longer than this are cut to it (the record keeps the original length).</param>
    /// <param name="leaveOpen">Leaves <paramref name="output"/> open on <see cref="Dispose"/>.</param>
    public PcapWriter(Stream output, int snapLength = DefaultSnapLength, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(snapLength, 1);
        if (!output.CanWrite)
        {
            throw new ArgumentException("The pcap output stream is not writable.", nameof(output));
        }
        _output = output;
        _snapLength = snapLength;
        _leaveOpen = leaveOpen;
        WriteFileHeader(_buffer, snapLength);
        _buffered = FileHeaderLength;
    }

    /// <summary>Frames written so far.</summary>
    public long FramesWritten { get; private set; }

    /// <summary>Writes the 24-byte pcap file header into <paramref name="destination"/>.</summary>
    /// <remarks>
    /// Fields are little-endian: a reader recognises the byte order from the magic number, and
    /// little-endian is what every machine we run on writes natively.
    /// </remarks>
    public static void WriteFileHeader(Span<byte> destination, int snapLength = DefaultSnapLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], 2);   // version_major
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], 4);   // version_minor
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], 0);    // thiszone: timestamps are UTC
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], 0);  // sigfigs: always 0
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], (uint)snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..], LinkTypeEthernet);
    }

    /// <summary>Writes the 16-byte record header of a frame into <paramref name="destination"/>.</summary>
    /// <param name="timestampMicroseconds">Microseconds since the Unix epoch (or, in a simulation, since its start).</param>
    public static void WriteRecordHeader(Span<byte> destination, long timestampMicroseconds, int capturedLength, int originalLength)
    {
        long seconds = Math.DivRem(timestampMicroseconds, 1_000_000, out long micros);
        if (micros < 0)
        {
            seconds--;
            micros += 1_000_000;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)micros);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], (uint)capturedLength);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], (uint)originalLength);
    }

    /// <summary>Appends one frame with its timestamp.</summary>
    /// <param name="timestampMicroseconds">Microseconds since the Unix epoch (or, in a simulation, since its start).</param>
    public void WriteFrame(long timestampMicroseconds, ReadOnlySpan<byte> frame)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int captured = Math.Min(frame.Length, _snapLength);
        int needed = RecordHeaderLength + captured;
        if (_buffered + needed > _buffer.Length)
        {
            FlushBuffer();
        }
        WriteRecordHeader(_buffer.AsSpan(_buffered), timestampMicroseconds, captured, frame.Length);
        _buffered += RecordHeaderLength;
        if (captured <= _buffer.Length - _buffered)
        {
            frame[..captured].CopyTo(_buffer.AsSpan(_buffered));
            _buffered += captured;
        }
        else
        {
            // A frame bigger than the buffer (only with segmentation offload): write it straight through.
            FlushBuffer();
            _output.Write(frame[..captured]);
        }
        FramesWritten++;
    }

    /// <summary>Writes buffered records to the stream and flushes it.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        FlushBuffer();
        _output.Flush();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        try
        {
            FlushBuffer();
            _output.Flush();
        }
        finally
        {
            _disposed = true;
            if (!_leaveOpen)
            {
                _output.Dispose();
            }
        }
    }

    private void FlushBuffer()
    {
        if (_buffered > 0)
        {
            _output.Write(_buffer, 0, _buffered);
            _buffered = 0;
        }
    }
}
