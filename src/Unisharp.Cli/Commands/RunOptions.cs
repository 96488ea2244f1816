namespace Unisharp.Cli.Commands;

/// <summary>Checks of the device options the tool passes on to a unikernel, so mistakes surface before a long build.</summary>
internal static class RunOptions
{
    public static void CheckNet(string? net)
    {
        if (net is null or "socket")
        {
            return;
        }
        if (!net.StartsWith("tap:", StringComparison.Ordinal) || net.Length == 4 || net.Length > 19)
        {
            throw new CliException($"invalid --net '{net}': expected tap:NAME (NAME up to 15 characters) or socket", CliException.Usage);
        }
    }

    public static void CheckDisks(IEnumerable<string> disks)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (string disk in disks)
        {
            int eq = disk.IndexOf('=');
            if (eq <= 0 || eq == disk.Length - 1)
            {
                throw new CliException($"invalid --disk '{disk}': expected NAME=PATH, e.g. --disk 0=disk0.img", CliException.Usage);
            }
            if (!names.Add(disk[..eq]))
            {
                throw new CliException($"disk '{disk[..eq]}' is given twice", CliException.Usage);
            }
        }
    }

    /// <summary>Each disk's PATH (without <c>:ro</c>) is an existing file or block device.</summary>
    public static void CheckDisksExist(IEnumerable<string> disks)
    {
        foreach (string disk in disks)
        {
            int eq = disk.IndexOf('=');
            string path = disk[(eq + 1)..];
            if (path.EndsWith(":ro", StringComparison.Ordinal))
            {
                path = path[..^3];
            }
            if (!File.Exists(path))
            {
                string problem = Directory.Exists(path) ? "is a directory, not a file or block device" : "does not exist";
                throw new CliException($"invalid --disk '{disk}': {path} {problem}", CliException.Usage);
            }
        }
    }

    /// <summary>The device options for the unikernel's command line.</summary>
    public static List<string> DeviceArguments(string? net, IEnumerable<string> disks)
    {
        var arguments = new List<string>();
        if (net is not null)
        {
            arguments.Add($"--net={net}");
        }
        foreach (string disk in disks)
        {
            // Relative paths are the user's, from where they ran the tool; the unikernel gets absolute ones.
            int eq = disk.IndexOf('=');
            arguments.Add($"--disk={disk[..eq]}={Path.GetFullPath(disk[(eq + 1)..])}");
        }
        return arguments;
    }
}
