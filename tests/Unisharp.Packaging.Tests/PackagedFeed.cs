using System.Runtime.CompilerServices;

namespace Unisharp.Packaging.Tests;

/// <summary>
/// Every Unisharp package packed once (packaging/pack.sh) into a feed in a scratch directory outside the repository,
/// at a version of its own so no earlier package in the NuGet cache stands in for it; and an app made from the
/// template there, as a new user would: <c>dotnet new unisharp-app -n Demo</c> with only that feed and nuget.org.
/// </summary>
public sealed class PackagedFeed : IDisposable
{
    public PackagedFeed()
    {
        Version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}";
        Work = Path.Combine(Path.GetTempPath(), $"unisharp-packaging-{Guid.NewGuid():N}");
        Feed = Path.Combine(Work, "feed");
        Directory.CreateDirectory(Feed);
        HasKernel = KernelFactAttribute.IsBuilt.Value;

        var pack = new List<string> { Path.Combine(Root, "packaging", "pack.sh"), "--out", Feed, "--version", Version };
        if (!HasKernel)
        {
            pack.Add("--no-kernel");
        }
        Environment.SetEnvironmentVariable("UNISHARP_PACK_ARTIFACTS", Path.Combine(Work, "artifacts"));
        Dotnet.Run("bash", Root, TimeSpan.FromMinutes(15), [.. pack]).Ensure("packaging/pack.sh");

        Apps = Path.Combine(Work, "apps");
        Directory.CreateDirectory(Apps);
        File.WriteAllText(Path.Combine(Apps, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="unisharp" value="{Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        Hive = Path.Combine(Work, "template-hive");
        Dotnet.Run("dotnet", Apps, TimeSpan.FromMinutes(3), "new", "install", Package("Unisharp.Templates"), "--debug:custom-hive", Hive)
            .Ensure("dotnet new install");
        Dotnet.Run("dotnet", Apps, TimeSpan.FromMinutes(3), "new", "unisharp-app", "-n", "Demo", "--debug:custom-hive", Hive)
            .Ensure("dotnet new unisharp-app");
        Demo = Path.Combine(Apps, "Demo");
    }

    public static string Root { get; } = FindRoot();

    /// <summary>The version every package of this run carries.</summary>
    public string Version { get; }

    public string Work { get; }

    public string Feed { get; }

    public string Apps { get; }

    public string Hive { get; }

    /// <summary>The app made from the template: Demo/Demo (the unikernel) and Demo/Demo.Tests.</summary>
    public string Demo { get; }

    /// <summary>The kernel is built here, so the feed has Unisharp.Kernel.x86_64 and the microVM targets can be published.</summary>
    public bool HasKernel { get; }

    public string Package(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Work, recursive: true);
        }
        catch (IOException)
        {
        }
        // This run's packages in the NuGet cache are never used again.
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string id in Directory.Exists(cache) ? Directory.GetDirectories(cache, "unisharp*") : [])
        {
            string versioned = Path.Combine(id, Version);
            if (Directory.Exists(versioned))
            {
                Directory.Delete(versioned, recursive: true);
            }
        }
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path) ?? "/";

    private static string FindRoot()
    {
        foreach (string start in new[] { Environment.GetEnvironmentVariable("UNISHARP_ROOT") ?? "", SourceDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = start.Length > 0 ? new DirectoryInfo(start) : null; dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Unisharp.slnx")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException("cannot find the repository (Unisharp.slnx); set UNISHARP_ROOT");
    }
}
