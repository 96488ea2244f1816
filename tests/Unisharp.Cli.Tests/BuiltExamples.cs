using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// The examples built once per test run with the real tool (NativeAOT), for tests that run them against
/// Linux peers. Built from copies in a scratch folder, so the examples' own folders stay clean.
/// </summary>
public sealed class BuiltExamples : IDisposable
{
    private readonly Dictionary<string, string> _built = new(StringComparer.Ordinal);
    private readonly List<string> _scratch = [];
    private readonly Lock _lock = new();

    /// <summary>The path of the built executable of examples/<paramref name="name"/>.</summary>
    public string Executable(string name)
    {
        lock (_lock)
        {
            if (!_built.TryGetValue(name, out string? path))
            {
                string app = Unisharp.CopyExample(name);
                _scratch.Add(app);
                var build = Unisharp.Run("build", app);
                if (build.ExitCode != 0)
                {
                    throw new InvalidOperationException($"building {name} failed: {build.Stderr}");
                }
                path = build.Stdout.Trim();
                _built[name] = path;
            }
            return path;
        }
    }

    public void Dispose()
    {
        foreach (string app in _scratch)
        {
            Unisharp.DeleteScratch(app);
        }
    }
}
