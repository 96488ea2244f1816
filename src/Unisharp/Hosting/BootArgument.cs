using System.Globalization;
using Unisharp.Net;

namespace Unisharp.Hosting;

/// <summary>
/// A typed boot argument (<c>--name=value</c>) an app or a layer declares: its name, type, default and
/// one line of help. Declared arguments are listed by <c>--help</c>; anything else given is an error.
/// </summary>
public abstract class BootArgument
{
    private protected BootArgument(string name, string description, string typeName)
    {
        if (string.IsNullOrEmpty(name) || name.StartsWith('-') || name.Contains('='))
        {
            throw new ArgumentException($"'{name}' is not a boot argument name (lower-case words joined by '-')", nameof(name));
        }
        Name = name;
        Description = description;
        TypeName = typeName;
    }

    /// <summary>The name without dashes: <c>port</c> for <c>--port</c>.</summary>
    public string Name { get; }

    public string Description { get; }

    /// <summary>What the value looks like in help text (<c>int</c>, <c>A.B.C.D/N</c>, <c>bool</c>).</summary>
    public string TypeName { get; }

    /// <summary>The default shown in help text, or null when there is none.</summary>
    public abstract string? DefaultText { get; }

    /// <summary>A flag may be given without a value (<c>--verify</c> means <c>--verify=true</c>).</summary>
    public virtual bool IsFlag => false;

    internal abstract object? DefaultBoxed { get; }

    internal abstract bool TryParseBoxed(string text, out object? value, out string error);

    public static BootArgument<int> Int(string name, int defaultValue, string description, int min = int.MinValue, int max = int.MaxValue) =>
        new(name, description, "int", defaultValue, (string s, out int v, out string e) =>
        {
            e = $"expected an integer from {min} to {max}";
            return int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out v) && v >= min && v <= max;
        });

    public static BootArgument<long> Long(string name, long defaultValue, string description, long min = long.MinValue, long max = long.MaxValue) =>
        new(name, description, "int", defaultValue, (string s, out long v, out string e) =>
        {
            e = $"expected an integer from {min} to {max}";
            return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out v) && v >= min && v <= max;
        });

    /// <summary>A TCP or UDP port number (0-65535).</summary>
    public static BootArgument<ushort> Port(string name, ushort defaultValue, string description) =>
        new(name, description, "port", defaultValue, (string s, out ushort v, out string e) =>
        {
            e = "expected a port number from 0 to 65535";
            return ushort.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
        });

    public static BootArgument<bool> Bool(string name, bool defaultValue, string description) =>
        new BootFlag(name, description, defaultValue);

    public static BootArgument<string> String(string name, string defaultValue, string description) =>
        new(name, description, "string", defaultValue, (string s, out string v, out string e) =>
        {
            e = "";
            v = s;
            return true;
        });

    /// <summary>An argument of any type that parses itself (addresses, durations, ...), with a default.</summary>
    public static BootArgument<T> Of<T>(string name, T defaultValue, string description, string typeName) where T : ISpanParsable<T> =>
        new(name, description, typeName, defaultValue, (string s, out T v, out string e) =>
        {
            e = $"expected {typeName}";
            return T.TryParse(s, CultureInfo.InvariantCulture, out v!);
        });

    /// <summary>An argument with no default: its value is null when it is not given.</summary>
    public static BootArgument<T?> Optional<T>(string name, string description, string typeName) where T : struct, ISpanParsable<T> =>
        new(name, description, typeName, null, (string s, out T? v, out string e) =>
        {
            e = $"expected {typeName}";
            bool ok = T.TryParse(s, CultureInfo.InvariantCulture, out T parsed);
            v = ok ? parsed : null;
            return ok;
        });

    /// <summary>An IPv4 address with prefix length, or null when not given.</summary>
    public static BootArgument<Ipv4Cidr?> Ipv4Cidr(string name, string description) =>
        Optional<Ipv4Cidr>(name, description, "A.B.C.D/N");

    /// <summary>An IPv4 address, or null when not given.</summary>
    public static BootArgument<Ipv4Address?> Ipv4Address(string name, string description) =>
        Optional<Ipv4Address>(name, description, "A.B.C.D");

    private sealed class BootFlag(string name, string description, bool defaultValue)
        : BootArgument<bool>(name, description, "bool", defaultValue, ParseBool)
    {
        public override bool IsFlag => true;

        private static bool ParseBool(string s, out bool v, out string e)
        {
            e = "expected true or false";
            switch (s.ToLowerInvariant())
            {
                case "true" or "1" or "yes" or "on": v = true; return true;
                case "false" or "0" or "no" or "off": v = false; return true;
                default: v = false; return false;
            }
        }
    }
}

/// <summary>A boot argument whose value is a <typeparamref name="T"/>.</summary>
public class BootArgument<T> : BootArgument
{
    /// <summary>Parses one value; on failure <paramref name="expected"/> says what was expected.</summary>
    public delegate bool ValueParser(string text, out T value, out string expected);

    private readonly ValueParser _parse;

    public BootArgument(string name, string description, string typeName, T defaultValue, ValueParser parse)
        : base(name, description, typeName)
    {
        Default = defaultValue;
        _parse = parse;
    }

    public T Default { get; }

    public override string? DefaultText => Default switch
    {
        null => null,
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        var other => other.ToString(),
    };

    internal override object? DefaultBoxed => Default;

    internal override bool TryParseBoxed(string text, out object? value, out string error)
    {
        bool ok = _parse(text, out T parsed, out string expected);
        value = parsed;
        error = ok ? "" : $"invalid value '{text}' for --{Name}: {expected}";
        return ok;
    }
}
