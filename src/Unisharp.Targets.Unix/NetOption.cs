using Unisharp.Hosting;

namespace Unisharp.Targets.Unix;

/// <summary>The value of <c>--net</c>: a TAP interface name, or null for the host's sockets.</summary>
public readonly record struct NetOption(string? Tap)
{
    public static readonly NetOption Socket = new((string?)null);

    /// <exception cref="BootArgumentException">Neither <c>socket</c> nor <c>tap:NAME</c> with a valid name.</exception>
    public static NetOption Parse(string value)
    {
        if (value == "socket")
        {
            return Socket;
        }
        if (value.StartsWith("tap:", StringComparison.Ordinal))
        {
            string name = value[4..];
            if (name.Length is > 0 and < 16 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return new NetOption(name);
            }
            throw new BootArgumentException($"invalid TAP name '{name}' in --net: 1 to 15 letters, digits, '-', '_' or '.'");
        }
        throw new BootArgumentException($"invalid value '{value}' for --net: expected tap:NAME or socket");
    }

    public override string ToString() => Tap is null ? "socket" : $"tap:{Tap}";
}
