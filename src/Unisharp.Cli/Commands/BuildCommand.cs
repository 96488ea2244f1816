using Unisharp.Cli.Apps;
using Unisharp.Cli.Building;

namespace Unisharp.Cli.Commands;

/// <summary><c>unisharp build</c>: publishes the app for its target into dist/.</summary>
internal static class BuildCommand
{
    public static async Task<int> ExecuteAsync(string? appDirectory, string? target, bool force, bool verbose, CancellationToken cancellationToken,
        IReadOnlyList<string>? files = null)
    {
        var app = AppProject.Open(appDirectory);
        string chosen = TargetCatalog.Require(target ?? AppConfiguration.Load(app.Directory)?.Target);
        string artifact = await AppBuilder.BuildAsync(app, chosen, force, verbose, cancellationToken, files).ConfigureAwait(false);
        Console.WriteLine(artifact);
        return 0;
    }
}
