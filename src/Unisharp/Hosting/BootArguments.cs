namespace Unisharp.Hosting;

/// <summary>The parsed values of every declared boot argument (defaults where one was not given).</summary>
public sealed class BootArguments
{
    private readonly Dictionary<string, object?> _values;
    private readonly HashSet<string> _given;

    private BootArguments(Dictionary<string, object?> values, HashSet<string> given)
    {
        _values = values;
        _given = given;
    }

    /// <summary>The value of <paramref name="argument"/>, which must have been declared.</summary>
    public T Get<T>(BootArgument<T> argument) =>
        _values.TryGetValue(argument.Name, out object? value)
            ? (T)value!
            : throw new InvalidOperationException($"boot argument --{argument.Name} was not declared before the unikernel started");

    /// <summary>True when the argument was given rather than left at its default.</summary>
    public bool IsGiven(BootArgument argument) => _given.Contains(argument.Name);

    /// <summary>
    /// Parses <c>--name=value</c>, <c>--name value</c> and bare flags against the declared arguments.
    /// </summary>
    /// <exception cref="BootArgumentException">An unknown name, a missing or malformed value, a stray word.</exception>
    public static BootArguments Parse(IEnumerable<BootArgument> declared, IReadOnlyList<string> args)
    {
        var byName = new Dictionary<string, BootArgument>(StringComparer.Ordinal);
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var argument in declared)
        {
            if (!byName.TryAdd(argument.Name, argument))
            {
                throw new InvalidOperationException($"boot argument --{argument.Name} is declared twice");
            }
            values[argument.Name] = argument.DefaultBoxed;
        }
        var given = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new BootArgumentException($"unexpected '{arg}': boot arguments look like --name=value");
            }
            int eq = arg.IndexOf('=');
            string name = eq < 0 ? arg[2..] : arg[2..eq];
            if (!byName.TryGetValue(name, out var argument))
            {
                throw new BootArgumentException($"unknown boot argument '--{name}'{Suggest(name, byName.Keys)}");
            }
            string text;
            if (eq >= 0)
            {
                text = arg[(eq + 1)..];
            }
            else if (argument.IsFlag)
            {
                text = "true";
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                text = args[++i];
            }
            else
            {
                throw new BootArgumentException($"--{name} needs a value ({argument.TypeName})");
            }
            if (!argument.TryParseBoxed(text, out object? value, out string error))
            {
                throw new BootArgumentException(error);
            }
            values[name] = value;
            given.Add(name);
        }
        return new BootArguments(values, given);
    }

    private static string Suggest(string name, IEnumerable<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in known)
        {
            int d = EditDistance(name, candidate);
            if (d < bestDistance)
            {
                (best, bestDistance) = (candidate, d);
            }
        }
        return best is not null && bestDistance <= 2 ? $" (did you mean --{best}?)" : "";
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
