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

    /// <summary>
    /// True in a clone of the repository (apps reference our projects); false for the installed tool, which carries
    /// only build/ and kernel/ and builds apps against the Unisharp packages of its own version.
    /// </summary>
    public static bool IsSourceTree => Directory.Exists(Path.Combine(Root, "src", "Unisharp"));

    /// <summary>The version of the Unisharp packages this tool belongs to.</summary>
    public static string PackageVersion =>
        (typeof(UnisharpInstallation).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.1.0")
        .Split('+')[0];

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
