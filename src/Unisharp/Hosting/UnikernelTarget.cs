using Unisharp.Logging;

namespace Unisharp.Hosting;

/// <summary>
/// Where a unikernel runs (<c>unix</c>, <c>qemu</c>, <c>firecracker</c>): the implementation of the device
/// interfaces, chosen when the app is built. The build links exactly one target into the app and
/// registers it with <see cref="Unikernel.UseTarget"/>; the app never asks which one it got.
/// </summary>
public abstract class UnikernelTarget
{
    public abstract string Name { get; }

    /// <summary>The device options this target takes (for <c>--help</c>), such as <c>--net tap:NAME</c>.</summary>
    public abstract IReadOnlyList<OptionHelp> DeviceOptions { get; }

    /// <summary>
    /// Takes this target's device options out of the command line and returns the rest, the boot arguments.
    /// </summary>
    /// <exception cref="BootArgumentException">A device option is malformed.</exception>
    public abstract IReadOnlyList<string> TakeDeviceOptions(IReadOnlyList<string> args);

    /// <summary>Opens what <paramref name="request"/> asks for, failing with a clear message when a device is missing.</summary>
    public abstract ValueTask<TargetDevices> OpenAsync(DeviceRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Whether SIGINT and SIGTERM stop the app (through <see cref="UnikernelContext.Stopping"/>). True by default;
    /// a guest's only process, which no one can signal, says false and spares its start the runtime's signal thread.
    /// Asked after <see cref="TakeDeviceOptions"/>.
    /// </summary>
    public virtual bool StopsOnSignals => true;
}

/// <summary>One line of help: how an option is written and what it does.</summary>
public readonly record struct OptionHelp(string Usage, string Description);
