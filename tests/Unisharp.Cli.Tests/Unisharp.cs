using System.Diagnostics;
using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>The repository under test and its <c>./unisharp</c> launcher.</summary>
internal static class Unisharp
{
    public static string Root { get; } = FindRoot();

    public static string Launcher => Path.Combine(Root, "unisharp");

    public static HostCommand.Result Run(params string[] arguments) => Run(TimeSpan.FromMinutes(8), arguments);

    public static HostCommand.Result Run(TimeSpan timeout, params string[] arguments) => HostCommand.Run(Launcher, arguments, timeout);

    /// <summary>Starts the launcher without waiting for it (for servers).</summary>
    public static Process Start(params string[] arguments)
    {
        var start = new ProcessStartInfo(Launcher) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        return Process.Start(start)!;
    }

    /// <summary>A copy of <c>examples/NAME</c> in a scratch folder inside the repository, removed by the caller.</summary>
    public static string CopyExample(string name)
    {
        string target = Path.Combine(Root, ".unisharp", "scratch", Guid.NewGuid().ToString("N")[..8], name);
        CopySources(Path.Combine(Root, "examples", name), target);
        return target;
    }

    /// <summary>The files of <paramref name="source"/> and its folders (an app's wwwroot), without build output.</summary>
    private static void CopySources(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        foreach (string folder in Directory.GetDirectories(source))
        {
            string folderName = Path.GetFileName(folder);
            if (folderName is not ("bin" or "obj" or "dist"))
            {
                CopySources(folder, Path.Combine(target, folderName));
            }
        }
    }

    public static void DeleteScratch(string appDirectory) => Directory.Delete(Path.GetDirectoryName(appDirectory)!, recursive: true);

    private static string FindRoot()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("UNISHARP_ROOT");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }
        foreach (string start in (string[])[AppContext.BaseDirectory, Environment.CurrentDirectory])
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "build", "Unisharp.App.targets")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException("cannot find the repository root: set UNISHARP_ROOT");
    }
}
