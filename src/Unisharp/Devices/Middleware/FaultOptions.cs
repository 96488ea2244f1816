using System.Globalization;

namespace Unisharp.Devices.Middleware;

/// <summary>
/// What a <see cref="FaultInjectorDevice"/> does to frames, in each direction. The command-line form is
/// <c>drop=0.05,reorder=0.02,duplicate=0.01,delay=5ms,seed=7</c> (see <see cref="TryParse"/>).
/// </summary>
/// <param name="Drop">Probability in [0, 1] that a frame is lost.</param>
/// <param name="Duplicate">Probability in [0, 1] that a frame is passed on twice.</param>
/// <param name="Reorder">Probability in [0, 1] that a frame is held back until the next frame has passed it.</param>
/// <param name="Delay">How long every frame is held before it is passed on.</param>
/// <param name="Seed">Seeds the random choices: the same seed and the same traffic give the same faults.</param>
public sealed record FaultOptions(double Drop = 0, double Duplicate = 0, double Reorder = 0, Duration Delay = default, ulong Seed = 1)
{
    private static readonly FaultOptions s_none = new();

    /// <summary>True when the options change nothing.</summary>
    public bool IsNone => Drop == 0 && Duplicate == 0 && Reorder == 0 && Delay == Duration.Zero;

    /// <summary>Throws when a probability is outside [0, 1] or the delay is negative.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public void Validate()
    {
        CheckProbability(Drop, nameof(Drop));
        CheckProbability(Duplicate, nameof(Duplicate));
        CheckProbability(Reorder, nameof(Reorder));
        if (Delay < Duration.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Delay), Delay, "The delay must not be negative.");
        }
    }

    /// <summary>
    /// Parses comma-separated <c>key=value</c> pairs: <c>drop</c>, <c>duplicate</c> and <c>reorder</c> take a
    /// probability (<c>0.05</c> or <c>5%</c>), <c>delay</c> a duration (<c>5ms</c>, <c>250us</c>, <c>1s</c>) and
    /// <c>seed</c> an unsigned integer. Keys left out keep their defaults; an empty text gives no faults.
    /// </summary>
    /// <param name="text">The text, such as <c>drop=0.05,reorder=0.02,duplicate=0.01,delay=5ms,seed=7</c>.</param>
    /// <param name="options">The options, when the text is valid; otherwise the defaults (no faults).</param>
    /// <param name="error">What is wrong with the text, naming the key and what was expected; empty on success.</param>
    public static bool TryParse(string text, out FaultOptions options, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        options = s_none;
        error = "";
        var result = new FaultOptions();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string rawPair in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (rawPair.Length == 0)
            {
                // Tolerate "drop=0.1," and an empty text.
                continue;
            }
            int equals = rawPair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                error = $"'{rawPair}' is not key=value (expected keys: drop, duplicate, reorder, delay, seed)";
                return false;
            }
            string key = rawPair[..equals].Trim().ToLowerInvariant();
            string value = rawPair[(equals + 1)..].Trim();
            if (!seen.Add(key))
            {
                error = $"{key}: given more than once";
                return false;
            }
            switch (key)
            {
                case "drop":
                case "duplicate":
                case "reorder":
                    if (!TryParseProbability(value, out double probability))
                    {
                        error = $"{key}: expected a probability from 0 to 1 (such as 0.05 or 5%), got '{value}'";
                        return false;
                    }
                    result = key switch
                    {
                        "drop" => result with { Drop = probability },
                        "duplicate" => result with { Duplicate = probability },
                        _ => result with { Reorder = probability },
                    };
                    break;
                case "delay":
                    if (!TryParseDuration(value, out var delay))
                    {
                        error = $"delay: expected a duration with a unit (such as 5ms, 250us or 1s), got '{value}'";
                        return false;
                    }
                    result = result with { Delay = delay };
                    break;
                case "seed":
                    if (!ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed))
                    {
                        error = $"seed: expected an unsigned integer, got '{value}'";
                        return false;
                    }
                    result = result with { Seed = seed };
                    break;
                default:
                    error = $"{key}: unknown key (expected drop, duplicate, reorder, delay or seed)";
                    return false;
            }
        }
        options = result;
        return true;
    }

    /// <summary>The command-line form, which <see cref="TryParse"/> reads back.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"drop={Drop:R},duplicate={Duplicate:R},reorder={Reorder:R},delay={Delay},seed={Seed}");

    private static bool TryParseProbability(string value, out double probability)
    {
        bool percent = value.EndsWith('%');
        string number = percent ? value[..^1] : value;
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out probability))
        {
            return false;
        }
        if (percent)
        {
            probability /= 100;
        }
        return probability is >= 0 and <= 1;
    }

    private static bool TryParseDuration(string value, out Duration duration)
    {
        duration = default;
        (string number, long unit) = value switch
        {
            _ when value.EndsWith("us", StringComparison.OrdinalIgnoreCase) => (value[..^2], 1L),
            _ when value.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => (value[..^2], 1000L),
            _ when value.EndsWith('s') || value.EndsWith('S') => (value[..^1], 1_000_000L),
            _ => ("", 0L),
        };
        if (unit == 0 || !decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal amount))
        {
            return false;
        }
        decimal micros = amount * unit;
        if (micros > long.MaxValue / 2 || micros != decimal.Truncate(micros))
        {
            // Sub-microsecond delays cannot be expressed; an absurdly long one is surely a typo.
            return false;
        }
        duration = Duration.FromMicroseconds((long)micros);
        return true;
    }

    private static void CheckProbability(double value, string name)
    {
        if (!(value >= 0 && value <= 1))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} is a probability and must be between 0 and 1.");
        }
    }
}
