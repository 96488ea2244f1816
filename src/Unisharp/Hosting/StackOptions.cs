using Unisharp.Devices;
using Unisharp.Logging;

namespace Unisharp.Hosting;

/// <summary>What a stack factory (registered with <see cref="Unikernel.UseStack"/>) builds our stack from.</summary>
public sealed class StackOptions
{
    public required INetworkDevice Device { get; init; }
    public required IClock Clock { get; init; }
    public required IEntropy Entropy { get; init; }
    public required IpConfiguration Ip { get; init; }
    public required Logger Log { get; init; }
}
