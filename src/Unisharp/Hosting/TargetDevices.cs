using Unisharp.Devices;
using Unisharp.Net;

namespace Unisharp.Hosting;

/// <summary>The devices a target opened for an app; disposed when the app ends.</summary>
public sealed class TargetDevices : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    public required IClock Clock { get; init; }
    public required IEntropy Entropy { get; init; }
    public required IConsole Console { get; init; }

    /// <summary>The Ethernet device, when the target has one (TAP, virtio-net); null in socket mode.</summary>
    public INetworkDevice? Network { get; init; }

    /// <summary>A stack the target serves itself (the host's sockets); null when our own stack runs over <see cref="Network"/>.</summary>
    public IStack? Stack { get; init; }

    public IReadOnlyDictionary<string, IBlockDevice> Disks { get; init; } = new Dictionary<string, IBlockDevice>();

    /// <summary>Disposes <paramref name="resource"/> with the devices.</summary>
    public void Own(IAsyncDisposable resource) => _owned.Add(resource);

    public async ValueTask DisposeAsync()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync().ConfigureAwait(false);
        }
        if (Stack is not null)
        {
            await Stack.DisposeAsync().ConfigureAwait(false);
        }
        Network?.Dispose();
        foreach (var disk in Disks.Values)
        {
            await disk.DisposeAsync().ConfigureAwait(false);
        }
    }
}
