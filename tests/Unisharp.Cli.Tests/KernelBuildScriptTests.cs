using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// kernel/build-kernel.sh's cache, with a scratch XDG_CACHE_HOME and a fake build in place of the kernel's
/// (UNISHARP_KERNEL_FAKE_BUILD): never a real build, which takes minutes.
/// </summary>
public sealed class KernelBuildScriptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("unisharp-kernel-build-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Build_TwoAtOnce_OneBuildsTheOtherWaitsAndFindsIt()
    {
        string builds = Path.Combine(_dir, "builds");
        // Slow enough that the second script starts while the first builds; each file written in pieces, so
        // that a reader seeing a partial kernel would see it empty.
        string fake = $"echo build >> '{builds}'; : > \"$1/bzImage\"; sleep 5; for f in bzImage vmlinux config; do echo kernel > \"$1/$f\"; done";

        var first = Task.Run(() => Script(fake, "--result", Path.Combine(_dir, "first")));
        await WaitForAsync(() => File.Exists(builds));
        var cachedWhileBuilding = Script(fake, "--cached");
        var second = Task.Run(() => Script(fake, "--result", Path.Combine(_dir, "second")));
        var (one, two) = (await first, await second);

        Assert.True(one.ExitCode == 0, one.Stderr);
        Assert.True(two.ExitCode == 0, two.Stderr);
        Assert.Equal(3, cachedWhileBuilding.ExitCode);
        Assert.Single(File.ReadAllLines(builds));
        Assert.Contains("another build of this kernel is running", two.Stderr);
        string kernel = one.Stdout.Trim();
        Assert.Equal(kernel, two.Stdout.Trim());
        Assert.Equal(kernel, File.ReadAllText(Path.Combine(_dir, "first")).Trim());
        Assert.Equal(kernel, File.ReadAllText(Path.Combine(_dir, "second")).Trim());
        Assert.StartsWith(Path.Combine(_dir, "cache", "unisharp", "kernel"), kernel);
        Assert.Equal("kernel\n", File.ReadAllText(Path.Combine(kernel, "bzImage")));
        Assert.Equal(0, Script(fake, "--cached").ExitCode);
        // The cache entry holds the kernel alone: its temporary directory was renamed into place.
        Assert.Equal([Path.GetFileName(kernel)], Directory.GetFileSystemEntries(Path.GetDirectoryName(kernel)!).Select(Path.GetFileName));
    }

    // The script with the scratch cache and the fake build; `tar` and `make` on PATH refuse, so a script
    // that ignored the fake build would fail fast instead of building a kernel.
    private HostCommand.Result Script(string fakeBuild, params string[] arguments)
    {
        string refuse = Path.Combine(_dir, "refuse");
        if (!Directory.Exists(refuse))
        {
            Directory.CreateDirectory(refuse);
            foreach (string tool in (string[])["tar", "make"])
            {
                string path = Path.Combine(refuse, tool);
                File.WriteAllText(path, $"#!/bin/sh\necho 'test: a real kernel build was started ({tool})' >&2\nexit 1\n");
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }
        }
        return HostCommand.Run("env",
            [$"XDG_CACHE_HOME={Path.Combine(_dir, "cache")}", $"PATH={refuse}:{Environment.GetEnvironmentVariable("PATH")}",
             $"UNISHARP_KERNEL_FAKE_BUILD={fakeBuild}", "bash", Path.Combine(Unisharp.Root, "kernel", "build-kernel.sh"), .. arguments],
            TimeSpan.FromMinutes(1));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the first build did not start within {clock.Elapsed}");
            await Task.Delay(20);
        }
    }
}
