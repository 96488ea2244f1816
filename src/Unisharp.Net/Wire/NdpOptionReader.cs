namespace Unisharp.Net.Wire;

/// <summary>
/// Walks the options of an NDP message (RFC 4861 §4.6): Type, Length in 8-byte units (never 0), data.
/// <see cref="Validate"/> checks a whole options area first; <see cref="TryNext"/> then never fails on it.
/// </summary>
internal ref struct NdpOptionReader(ReadOnlySpan<byte> options)
{
    private ReadOnlySpan<byte> _rest = options;

    /// <summary>False when an option has length zero or runs past the end (RFC 4861 §6.1: the message is dropped).</summary>
    public static bool Validate(ReadOnlySpan<byte> options)
    {
        while (options.Length > 0)
        {
            if (options.Length < 2 || options[1] == 0 || options[1] * 8 > options.Length)
            {
                return false;
            }
            options = options[(options[1] * 8)..];
        }
        return true;
    }

    /// <summary>The next option's type and its bytes after the type and length fields.</summary>
    public bool TryNext(out NdpOptionType type, out ReadOnlySpan<byte> data)
    {
        type = default;
        data = default;
        if (_rest.Length < 2 || _rest[1] == 0 || _rest[1] * 8 > _rest.Length)
        {
            return false;
        }
        int length = _rest[1] * 8;
        type = (NdpOptionType)_rest[0];
        data = _rest[2..length];
        _rest = _rest[length..];
        return true;
    }
}
