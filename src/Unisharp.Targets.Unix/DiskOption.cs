using Unisharp.Hosting;

namespace Unisharp.Targets.Unix;

/// <summary>The value of <c>--disk NAME=PATH[:ro]</c>.</summary>
public readonly record struct DiskOption(string Name, string Path, bool ReadOnly)
{
    /// <exception cref="BootArgumentException">No '=', an empty name or path.</exception>
    public static DiskOption Parse(string value)
    {
        int eq = value.IndexOf('=');
        if (eq <= 0 || eq == value.Length - 1)
        {
            throw new BootArgumentException($"invalid value '{value}' for --disk: expected NAME=PATH, e.g. --disk 0=disk0.img");
        }
        string name = value[..eq];
        string path = value[(eq + 1)..];
        bool readOnly = path.EndsWith(":ro", StringComparison.Ordinal);
        if (readOnly)
        {
            path = path[..^3];
        }
        if (path.Length == 0)
        {
            throw new BootArgumentException($"invalid value '{value}' for --disk: the path is empty");
        }
        return new DiskOption(name, path, readOnly);
    }
}
