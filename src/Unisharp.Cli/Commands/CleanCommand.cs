using Unisharp.Cli.Apps;

namespace Unisharp.Cli.Commands;

/// <summary><c>unisharp clean</c>: removes an app's build outputs (dist/, bin/, obj/); keeps its configuration.</summary>
internal static class CleanCommand
{
    public static int Execute(string? appDirectory)
    {
        var app = AppProject.Open(appDirectory);
        int removed = 0;
        foreach (string name in (string[])["dist", "bin", "obj"])
        {
            string path = Path.Combine(app.Directory, name);
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
                removed++;
            }
        }
        Progress.Info(removed == 0 ? $"{app.Name}: nothing to clean" : $"{app.Name}: removed build outputs (dist/, bin/, obj/)");
        return 0;
    }
}
