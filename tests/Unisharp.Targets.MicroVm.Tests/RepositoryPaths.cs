using System.Runtime.CompilerServices;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// Where the repository is: UNISHARP_ROOT (set by run-tests), else the folder holding Unisharp.slnx above this
/// source file, the test binaries or the current directory.
/// </summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = Find();

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path) ?? "/";

    private static string Find()
    {
        if (FromEnvironment() is { } root)
        {
            return root;
        }
        foreach (string start in new[] { SourceDirectory(), AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Unisharp.slnx")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException("cannot find the repository (Unisharp.slnx); set UNISHARP_ROOT");
    }

    private static string? FromEnvironment()
    {
        if (Environment.GetEnvironmentVariable("UNISHARP_ROOT") is { Length: > 0 } root && File.Exists(Path.Combine(root, "Unisharp.slnx")))
        {
            return root;
        }
        return null;
    }

    /// <summary>The full path of <paramref name="tool"/> on PATH, or null.</summary>
    public static string? FindTool(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
}
