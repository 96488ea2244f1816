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

    /// <summary>The app's TCP settings (<see cref="UnikernelBuilder.UseStack(Unisharp.Net.TcpOptions)"/>); null for the stack's defaults.</summary>
    public Unisharp.Net.TcpOptions? Tcp { get; init; }
}
