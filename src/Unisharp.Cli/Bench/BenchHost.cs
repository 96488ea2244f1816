using System.Globalization;

namespace Unisharp.Cli.Bench;

/// <summary>The machine a bench runs on, described for its summary, and the checks every bench makes first.</summary>
internal static class BenchHost
{
    /// <summary>What <c>unisharp run</c> prints when a microVM runs emulated (no usable KVM).</summary>
    public const string TcgMarker = "under TCG";

    public static void RequireRoot(string verb)
    {
        if (Environment.UserName != "root")
        {
            throw new CliException($"{verb} makes network namespaces, TAP and veth devices: run it as root");
        }
    }

    /// <summary>One line: CPU model, cores, kernel.</summary>
    public static string Describe()
    {
        string cpu = Read("/proc/cpuinfo").Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        return $"{cpu}, {Environment.ProcessorCount} cores, Linux {Read("/proc/sys/kernel/osrelease").Trim()}";
    }

    /// <summary>The 1-minute load average: how busy the machine was (it is shared with other builds).</summary>
    public static string LoadAverage() => Read("/proc/loadavg").Split(' ')[0];

    /// <summary>The output files of a bench: <c>OUT/DATE-NAME[-TAG].csv</c>, <c>.png</c>, <c>.md</c>.</summary>
    public static (string Csv, string Png, string Markdown) OutputPaths(string outDirectory, string bench, string? tag, DateTime when)
    {
        Directory.CreateDirectory(outDirectory);
        string stem = Path.Combine(outDirectory, $"{when.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}-{bench}{(tag is null ? "" : "-" + tag)}");
        return (stem + ".csv", stem + ".png", stem + ".md");
    }

    public static string Number(double value, string format = "0.0") =>
        double.IsNaN(value) ? "" : value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>The median of the values that are numbers; NaN when there are none.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return "";
        }
    }
}
