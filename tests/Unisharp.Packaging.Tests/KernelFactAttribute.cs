using System.Diagnostics;
using Xunit;

namespace Unisharp.Packaging.Tests;

/// <summary>A test that needs our microVM kernel built (kernel/build-kernel.sh): skipped, saying so, without it.</summary>
public sealed class KernelFactAttribute : FactAttribute
{
    public KernelFactAttribute()
    {
        if (!IsBuilt.Value)
        {
            Skip = "the kernel is not built here (kernel/build-kernel.sh), so the feed has no Unisharp.Kernel package";
        }
    }

    public static readonly Lazy<bool> IsBuilt = new(() =>
    {
        try
        {
            return Dotnet.Run("bash", PackagedFeed.Root, TimeSpan.FromSeconds(30),
                Path.Combine(PackagedFeed.Root, "kernel", "build-kernel.sh"), "--cached").ExitCode == 0;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    });
}
