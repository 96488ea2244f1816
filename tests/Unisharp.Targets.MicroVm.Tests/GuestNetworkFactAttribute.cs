using Unisharp.Testing;

namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// A test that boots a networked microVM on a TAP in a namespace and talks to it with Linux tools: needs
/// everything a <see cref="BootFactAttribute"/> test needs, network namespaces (root), and ping, nc and tcpdump.
/// </summary>
public sealed class GuestNetworkFactAttribute : FactAttribute
{
    public GuestNetworkFactAttribute()
    {
        if (new BootFactAttribute().Skip is { } bootSkip)
        {
            Skip = bootSkip;
        }
        else if (NetworkNamespace.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
        else if (((string[])["ping", "nc", "tcpdump"]).FirstOrDefault(t => !HostCommand.Exists(t)) is { } missing)
        {
            Skip = $"guest network tests need {missing} (apt-get install iputils-ping netcat-openbsd tcpdump)";
        }
    }
}
