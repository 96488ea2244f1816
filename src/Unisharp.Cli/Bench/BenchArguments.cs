using System.Globalization;

namespace Unisharp.Cli.Bench;

/// <summary>Parses the bench verbs' list and size options; a bad value is a usage error (exit 2).</summary>
internal static class BenchArguments
{
    /// <summary>A comma-separated list of positive integers, e.g. <c>1,2,4,8</c>.</summary>
    public static int[] PositiveInts(string option, string value, int max)
    {
        var items = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var result = new int[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            if (!int.TryParse(items[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]) || result[i] < 1 || result[i] > max)
            {
                throw new CliException($"invalid {option} '{value}': expected a comma-separated list of integers from 1 to {max}", CliException.Usage);
            }
        }
        return result.Length > 0 ? result : throw new CliException($"invalid {option}: the list is empty", CliException.Usage);
    }

    /// <summary>A comma-separated list of names, each one of <paramref name="known"/>, without repeats.</summary>
    public static string[] Names(string option, string value, IReadOnlyCollection<string> known)
    {
        var items = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (string item in items)
        {
            if (!known.Contains(item))
            {
                throw new CliException($"invalid {option} '{item}': choose from {string.Join(", ", known)}", CliException.Usage);
            }
        }
        return items.Length > 0 ? items.Distinct().ToArray() : throw new CliException($"invalid {option}: the list is empty", CliException.Usage);
    }

    /// <summary>A name for output files: 1 to 32 lower-case letters, digits and dashes; null stays null.</summary>
    public static string? Tag(string option, string? value) =>
        value is null ? null
        : value.Length is >= 1 and <= 32 && value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') ? value
        : throw new CliException($"invalid {option} '{value}': expected 1 to 32 lower-case letters, digits and dashes", CliException.Usage);

    /// <summary>One of <paramref name="known"/>.</summary>
    public static string Choice(string option, string value, IReadOnlyCollection<string> known) =>
        known.Contains(value.Trim()) ? value.Trim() : throw new CliException($"invalid {option} '{value}': choose one of {string.Join(", ", known)}", CliException.Usage);

    /// <summary>A byte count with an optional binary suffix: <c>512M</c>, <c>8M</c>, <c>1G</c>, <c>65536</c>.</summary>
    public static long Bytes(string option, string value)
    {
        string digits = value.Trim();
        long unit = 1;
        if (digits.Length > 0 && char.IsLetter(digits[^1]))
        {
            unit = char.ToUpperInvariant(digits[^1]) switch
            {
                'K' => 1L << 10,
                'M' => 1L << 20,
                'G' => 1L << 30,
                _ => 0,
            };
            digits = digits[..^1];
        }
        if (unit == 0 || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long count) || count < 1 || count > (64L << 30) / unit)
        {
            throw new CliException($"invalid {option} '{value}': expected a size such as 512M, 8M or 1G (at most 64G)", CliException.Usage);
        }
        return count * unit;
    }

    /// <summary>A count from 1 to <paramref name="max"/>.</summary>
    public static int Count(string option, int value, int max) =>
        value >= 1 && value <= max ? value : throw new CliException($"invalid {option} '{value}': expected 1 to {max}", CliException.Usage);

    /// <summary>Whole seconds, at least 1.</summary>
    public static TimeSpan Seconds(string option, int value) =>
        value >= 1 ? TimeSpan.FromSeconds(value) : throw new CliException($"invalid {option} '{value}': expected seconds, at least 1", CliException.Usage);
}
