using Unisharp.Cli.Apps;
using Unisharp.Cli.Publishing;

namespace Unisharp.Cli.Commands;

/// <summary><c>unisharp configure</c>: records the target and default run options in the app's unisharp.json.</summary>
internal static class ConfigureCommand
{
    public static int Execute(string? appDirectory, string? target, string? net, IReadOnlyList<string> disks, IReadOnlyList<string> bootArguments,
        IReadOnlyList<string>? publish = null, IReadOnlyList<string>? files = null)
    {
        var app = AppProject.Open(appDirectory);
        string chosen = TargetCatalog.Require(target);
        RunOptions.CheckNet(net);
        RunOptions.CheckDisks(disks);
        RunOptions.CheckDisksExist(disks);
        var ports = PublishedPort.ParseAll(publish ?? []);
        var imageFiles = MicroVm.ImageFile.ParseAll(files ?? []);
        var configuration = new AppConfiguration
        {
            Target = chosen, Net = net, Disks = [.. disks], BootArguments = [.. bootArguments], Publish = [.. ports.Select(p => p.ToString())],
            Files = [.. imageFiles.Select(f => f.ToString())],
        };
        configuration.Save(app.Directory);
        Progress.Info($"configured {app.Name} for {chosen}: wrote {AppBuilderPaths.Relative(Path.Combine(app.Directory, AppConfiguration.FileName))}");
        Progress.Info($"next: unisharp build {AppBuilderPaths.Relative(app.Directory)}");
        return 0;
    }
}
