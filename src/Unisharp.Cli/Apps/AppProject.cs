namespace Unisharp.Cli.Apps;

/// <summary>An app directory: the one project file in it, the app's name, and where its artifacts go.</summary>
internal sealed class AppProject
{
    private AppProject(string directory, string projectFile)
    {
        Directory = directory;
        ProjectFile = projectFile;
        Name = Path.GetFileNameWithoutExtension(projectFile);
    }

    public string Directory { get; }

    public string ProjectFile { get; }

    /// <summary>The app's name: its project file's name, which is also its executable's.</summary>
    public string Name { get; }

    public string DistDirectory => Path.Combine(Directory, "dist");

    /// <summary>Where the tool keeps intermediate builds, per target.</summary>
    public string WorkDirectory(string target) => Path.Combine(Directory, "obj", "unisharp", target);

    /// <summary>
    /// The artifact <c>unisharp build</c> produces for <paramref name="target"/>: the executable <c>dist/NAME</c>
    /// on unix, the image folders <c>dist/NAME.qemu</c> and <c>dist/NAME.fc</c> for the microVM targets.
    /// </summary>
    public string ArtifactPath(string target) => target switch
    {
        "unix" => Path.Combine(DistDirectory, Name),
        "firecracker" => Path.Combine(DistDirectory, $"{Name}.fc"),
        _ => Path.Combine(DistDirectory, $"{Name}.{target}"),
    };

    /// <exception cref="CliException">The directory is missing or has no, or several, project files.</exception>
    public static AppProject Open(string? directory)
    {
        string full = Path.GetFullPath(string.IsNullOrEmpty(directory) ? "." : directory);
        if (!System.IO.Directory.Exists(full))
        {
            throw new CliException($"app directory '{directory}' does not exist", CliException.Usage);
        }
        var projects = System.IO.Directory.GetFiles(full, "*.csproj");
        return projects.Length switch
        {
            1 => new AppProject(full, projects[0]),
            0 => throw new CliException($"'{full}' has no .csproj: an app directory holds one C# project (see examples/hello)", CliException.Usage),
            _ => throw new CliException($"'{full}' has {projects.Length} .csproj files; an app directory holds exactly one", CliException.Usage),
        };
    }
}
