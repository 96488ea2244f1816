using System.Text;

namespace Unisharp.Net.Wire;

/// <summary>
/// Domain names on the wire (RFC 1035 §3.1, §4.1.4): length-prefixed labels ending with the root's zero, or with a
/// compression pointer to an earlier name in the message. As text: labels joined by dots, no trailing dot, the root
/// as the empty string; a label byte that is a dot, a backslash or not printable ASCII is written as <c>\DDD</c>.
/// </summary>
internal static class DnsName
{
    /// <summary>RFC 1035 §2.3.4: a name is at most 255 bytes on the wire, a label at most 63.</summary>
    public const int MaxLength = 255;
    public const int MaxLabelLength = 63;

    /// <summary>How many pointers a name may follow; each must point before the previous one anyway.</summary>
    private const int MaxPointers = 64;

    /// <summary>
    /// Reads the name at <paramref name="offset"/> of <paramref name="message"/>. Every pointer must point strictly
    /// before the label it replaces (so no loop), labels are plain (no extended label types) and the whole name fits
    /// in 255 bytes. <paramref name="next"/> is the offset after the name where it started (after its first pointer).
    /// </summary>
    public static WireError TryRead(ReadOnlySpan<byte> message, int offset, out string name, out int next)
    {
        name = "";
        next = 0;
        int position = offset;
        // Pointers must go strictly backwards from where the current run of labels began.
        int runStart = offset;
        int pointers = 0;
        int length = 0;
        int end = -1;
        Span<char> text = stackalloc char[MaxLength * 4];
        int chars = 0;
        while (true)
        {
            if ((uint)position >= (uint)message.Length)
            {
                return WireError.Truncated;
            }
            byte b = message[position];
            switch (b & 0xC0)
            {
                case 0xC0:
                    if (position + 1 >= message.Length)
                    {
                        return WireError.Truncated;
                    }
                    int target = ((b & 0x3F) << 8) | message[position + 1];
                    if (end < 0)
                    {
                        end = position + 2;
                    }
                    if (target >= runStart || ++pointers > MaxPointers)
                    {
                        return WireError.BadField;
                    }
                    position = runStart = target;
                    continue;
                case 0x00:
                    break;
                default:
                    // 0x40 and 0x80: extended and obsolete label types (RFC 6891 §5), not in names we handle.
                    return WireError.Unsupported;
            }
            length += b + 1;
            if (length > MaxLength)
            {
                return WireError.BadLength;
            }
            if (b == 0)
            {
                next = end < 0 ? position + 1 : end;
                name = new string(text[..chars]);
                return WireError.None;
            }
            if (position + 1 + b > message.Length)
            {
                return WireError.Truncated;
            }
            if (chars > 0)
            {
                text[chars++] = '.';
            }
            foreach (byte c in message.Slice(position + 1, b))
            {
                if (c is > 0x20 and < 0x7F and not (byte)'.' and not (byte)'\\')
                {
                    text[chars++] = (char)c;
                }
                else
                {
                    text[chars++] = '\\';
                    text[chars++] = (char)('0' + c / 100);
                    text[chars++] = (char)('0' + c / 10 % 10);
                    text[chars++] = (char)('0' + c % 10);
                }
            }
            position += 1 + b;
        }
    }

    /// <summary>Skips the name at <paramref name="offset"/> without building its text; the same checks as <see cref="TryRead"/>.</summary>
    public static WireError TrySkip(ReadOnlySpan<byte> message, int offset, out int next) => TryRead(message, offset, out _, out next);

    /// <summary>
    /// The uncompressed wire length of <paramref name="name"/> (a trailing dot is allowed), or -1 when it is not a name
    /// we can send: an empty label, a label over 63 bytes, over 255 bytes in all, or a character outside printable ASCII
    /// (escapes are not parsed).
    /// </summary>
    public static int WireLength(string name)
    {
        var span = Trim(name);
        if (span.IsEmpty)
        {
            return 1;
        }
        int length = 1;
        foreach (var range in span.Split('.'))
        {
            var label = span[range];
            if (label.IsEmpty || label.Length > MaxLabelLength)
            {
                return -1;
            }
            foreach (char c in label)
            {
                if (c is <= ' ' or >= (char)0x7F or '\\')
                {
                    return -1;
                }
            }
            length += 1 + label.Length;
        }
        return length > MaxLength ? -1 : length;
    }

    /// <summary>Writes <paramref name="name"/> uncompressed; returns the bytes written. The name must have a <see cref="WireLength"/>.</summary>
    public static int Write(string name, Span<byte> buffer)
    {
        var span = Trim(name);
        int i = 0;
        if (!span.IsEmpty)
        {
            foreach (var range in span.Split('.'))
            {
                var label = span[range];
                buffer[i++] = (byte)label.Length;
                i += Encoding.ASCII.GetBytes(label, buffer[i..]);
            }
        }
        buffer[i++] = 0;
        return i;
    }

    /// <summary>Names compare without regard to ASCII case (RFC 4343).</summary>
    public static bool Equal(string a, string b) => Trim(a).Equals(Trim(b), StringComparison.OrdinalIgnoreCase);

    private static ReadOnlySpan<char> Trim(string name) => name.EndsWith('.') ? name.AsSpan(0, name.Length - 1) : name;
}
