namespace Unisharp.Cli.Building;

/// <summary>Where Unisharp's sources and build files are: the repository the tool was built from.</summary>
internal static class UnisharpInstallation
{
    /// <summary>The marker file that identifies the root.</summary>
    public const string AppTargets = "build/Unisharp.App.targets";

    /// <summary>
    /// <c>UNISHARP_ROOT</c> when set, else the nearest directory above the tool's own files that holds
    /// <see cref="AppTargets"/>.
    /// </summary>
    public static string Root => s_root ??= Locate();

    private static string? s_root;

    private static string Locate()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("UNISHARP_ROOT");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return File.Exists(Path.Combine(fromEnvironment, AppTargets))
                ? Path.GetFullPath(fromEnvironment)
                : throw new CliException($"UNISHARP_ROOT={fromEnvironment} does not hold {AppTargets}");
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, AppTargets)))
            {
                return dir.FullName;
            }
        }
        throw new CliException($"cannot find Unisharp's sources ({AppTargets}) above {AppContext.BaseDirectory}; set UNISHARP_ROOT");
    }
}
