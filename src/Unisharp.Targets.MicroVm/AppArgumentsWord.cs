using System.Text;

namespace Unisharp.Targets.MicroVm;

/// <summary>
/// The app's boot arguments as one kernel command-line word, <c>unisharp.args=ARG,ARG,…</c>: the tool writes it
/// (<c>unisharp run</c>, <c>launch.sh</c>, <c>firecracker.json</c>) and the guest runtime reads it back from
/// <c>/proc/cmdline</c>. One word with a dot in its name is a module parameter to the kernel, which it neither
/// acts on nor hands to init, and it sits among the kernel's own words, so the <c>virtio_mmio.device=</c> words
/// QEMU's <c>microvm</c> and Firecracker append at the end stay the kernel's.
/// </summary>
/// <remarks>
/// Each argument is its UTF-8 bytes, printable ASCII as is except <c>"</c>, <c>%</c> and <c>,</c>; those, spaces,
/// control characters and every byte over 0x7E are written <c>%XX</c> (hex), as in a URL:
/// <c>--greeting="hi, there"</c> is <c>unisharp.args=--greeting=%22hi%2C%20there%22</c>. Arguments are separated by
/// <c>,</c>. No arguments, no word; <c>unisharp.args=</c> alone is one empty argument.
/// (This file is compiled into the tool as well, so both ends share one codec.)
/// </remarks>
internal static class AppArgumentsWord
{
    public const string Prefix = "unisharp.args=";

    /// <summary>The word for <paramref name="arguments"/>, or null when there are none.</summary>
    public static string? Encode(IReadOnlyList<string> arguments)
    {
        if (arguments.Count == 0)
        {
            return null;
        }
        var word = new StringBuilder(Prefix);
        for (int i = 0; i < arguments.Count; i++)
        {
            if (i > 0)
            {
                word.Append(',');
            }
            foreach (byte b in Encoding.UTF8.GetBytes(arguments[i]))
            {
                if (IsPlain(b))
                {
                    word.Append((char)b);
                }
                else
                {
                    word.Append('%').Append(Convert.ToHexString([b]));
                }
            }
        }
        return word.ToString();
    }

    /// <summary>The arguments in the value of a <c>unisharp.args=</c> word (the part after <see cref="Prefix"/>).</summary>
    /// <exception cref="FormatException">A <c>%</c> not followed by two hex digits, or bytes that are not UTF-8.</exception>
    public static List<string> Decode(string value)
    {
        var arguments = new List<string>();
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        foreach (string part in value.Split(','))
        {
            // Percent-decoding works on the UTF-8 bytes, so characters over 0x7E written as they are pass through too.
            byte[] raw = Encoding.UTF8.GetBytes(part);
            var bytes = new List<byte>(raw.Length);
            for (int i = 0; i < raw.Length; i++)
            {
                if (raw[i] != (byte)'%')
                {
                    bytes.Add(raw[i]);
                    continue;
                }
                if (i + 2 >= raw.Length || !char.IsAsciiHexDigit((char)raw[i + 1]) || !char.IsAsciiHexDigit((char)raw[i + 2]))
                {
                    throw new FormatException($"{Prefix}: '%' must be followed by two hex digits, in '{part}'");
                }
                bytes.Add(Convert.FromHexString([(char)raw[i + 1], (char)raw[i + 2]])[0]);
                i += 2;
            }
            try
            {
                arguments.Add(utf8.GetString(bytes.ToArray()));
            }
            catch (DecoderFallbackException)
            {
                throw new FormatException($"{Prefix}: '{part}' is not UTF-8 once decoded");
            }
        }
        return arguments;
    }

    /// <summary>Printable ASCII that means nothing to the kernel's parser nor to this encoding.</summary>
    public static bool IsPlain(byte b) => b is > 0x20 and < 0x7F and not (byte)'"' and not (byte)'%' and not (byte)',';
}
