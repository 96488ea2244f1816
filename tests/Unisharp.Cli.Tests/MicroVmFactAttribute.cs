using Unisharp.Testing;

namespace Unisharp.Cli.Tests;

/// <summary>
/// A test that boots a microVM through the tool: needs QEMU and our kernel (kernel/build-kernel.sh, which
/// run-tests builds when it is missing); skipped, saying which, without them.
/// </summary>
public sealed class MicroVmFactAttribute : FactAttribute
{
    public MicroVmFactAttribute()
    {
        if (!HostCommand.Exists("qemu-system-x86_64"))
        {
            Skip = "needs QEMU (apt-get install qemu-system-x86)";
        }
        else if (!s_kernelIsBuilt.Value)
        {
            Skip = "needs our kernel: run kernel/build-kernel.sh (run-tests does unless UNISHARP_SKIP_KERNEL=1)";
        }
    }

    /// <summary>The test makes network namespaces (root, iproute2): skipped where it cannot.</summary>
    public bool NeedsNamespaces
    {
        get => field;
        set
        {
            field = value;
            if (value && Skip is null && NetworkNamespace.UnavailableReason is { } reason)
            {
                Skip = reason;
            }
        }
    }

    /// <summary>The test attaches gdb to the VM: skipped without it.</summary>
    public bool NeedsGdb
    {
        get => field;
        set
        {
            field = value;
            if (value && Skip is null && !HostCommand.Exists("gdb"))
            {
                Skip = "needs gdb (apt-get install gdb)";
            }
        }
    }

    private static readonly Lazy<bool> s_kernelIsBuilt = new(() =>
        HostCommand.Run("bash", [Path.Combine(Unisharp.Root, "kernel", "build-kernel.sh"), "--cached"], TimeSpan.FromSeconds(60)).ExitCode == 0);
}
