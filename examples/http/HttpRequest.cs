using System.Buffers.Text;
using System.Text;

/// <summary>The head of one HTTP/1.x request (RFC 9112): what the responder needs of it.</summary>
internal sealed record HttpRequest(string Method, string Target, bool Http11, bool KeepAlive, long ContentLength, bool Chunked)
{
    /// <summary>
    /// Parses a request head: the request line and header fields, without the final empty line. Returns null
    /// when it is not a well-formed HTTP/1.0 or 1.1 request (the caller answers 400).
    /// </summary>
    public static HttpRequest? TryParse(ReadOnlySpan<byte> head)
    {
        int lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = lineEnd < 0 ? head : head[..lineEnd];
        var fields = lineEnd < 0 ? [] : head[(lineEnd + 2)..];

        // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
        int firstSpace = requestLine.IndexOf((byte)' ');
        int lastSpace = requestLine.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace <= firstSpace + 1)
        {
            return null;
        }
        var method = requestLine[..firstSpace];
        var target = requestLine[(firstSpace + 1)..lastSpace];
        var version = requestLine[(lastSpace + 1)..];
        bool http11;
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            http11 = true;
        }
        else if (version.SequenceEqual("HTTP/1.0"u8))
        {
            http11 = false;
        }
        else
        {
            return null;
        }
        if (!IsToken(method) || target.Length == 0 || target.IndexOfAnyInRange((byte)0, (byte)' ') >= 0 || target.IndexOf((byte)0x7f) >= 0)
        {
            return null;
        }

        bool keepAlive = http11;
        long contentLength = 0;
        bool sawLength = false;
        bool chunked = false;
        while (fields.Length > 0)
        {
            int end = fields.IndexOf("\r\n"u8);
            var line = end < 0 ? fields : fields[..end];
            fields = end < 0 ? [] : fields[(end + 2)..];
            // field-line = field-name ":" OWS field-value OWS; no whitespace before the colon (RFC 9112 §5.1)
            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]) || line.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0)
            {
                return null;
            }
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(name, "content-length"u8))
            {
                if (!Utf8Parser.TryParse(value, out long length, out int used) || used != value.Length || length < 0 || (sawLength && length != contentLength))
                {
                    return null;
                }
                contentLength = length;
                sawLength = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8))
            {
                chunked = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "connection"u8))
            {
                if (ContainsToken(value, "close"u8))
                {
                    keepAlive = false;
                }
                else if (ContainsToken(value, "keep-alive"u8))
                {
                    keepAlive = true;
                }
            }
        }
        // A message with both is a smuggling attempt (RFC 9112 §6.3): refuse it.
        if (chunked && sawLength)
        {
            return null;
        }
        return new HttpRequest(Encoding.ASCII.GetString(method), Encoding.ASCII.GetString(target), http11, keepAlive, contentLength, chunked);
    }

    private static bool IsToken(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }
        foreach (byte b in text)
        {
            bool ok = b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
                || "!#$%&'*+-.^_`|~"u8.Contains(b);
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    private static bool ContainsToken(ReadOnlySpan<byte> list, ReadOnlySpan<byte> token)
    {
        foreach (var range in list.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(list[range].Trim(" \t"u8), token))
            {
                return true;
            }
        }
        return false;
    }
}
