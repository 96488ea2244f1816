using System.Text.Json;
using System.Text.Json.Serialization;

namespace Unisharp.Cli.MicroVm;

/// <summary>
/// The file <c>firecracker --config-file</c> reads: the same sections, with the same field names, as
/// Firecracker's API (<c>PUT /boot-source</c>, <c>/machine-config</c>, <c>/drives</c>, <c>/network-interfaces</c>).
/// </summary>
internal sealed record FirecrackerConfig(
    [property: JsonPropertyName("boot-source")] FirecrackerConfig.BootSource Boot,
    [property: JsonPropertyName("machine-config")] FirecrackerConfig.MachineConfig Machine,
    [property: JsonPropertyName("drives")] IReadOnlyList<FirecrackerConfig.Drive> Drives,
    [property: JsonPropertyName("network-interfaces")] IReadOnlyList<FirecrackerConfig.NetworkInterface> NetworkInterfaces)
{
    public sealed record BootSource(
        [property: JsonPropertyName("kernel_image_path")] string KernelImagePath,
        [property: JsonPropertyName("initrd_path")] string InitrdPath,
        [property: JsonPropertyName("boot_args")] string BootArgs);

    public sealed record MachineConfig(
        [property: JsonPropertyName("vcpu_count")] int VcpuCount,
        [property: JsonPropertyName("mem_size_mib")] int MemSizeMib);

    public sealed record Drive(
        [property: JsonPropertyName("drive_id")] string DriveId,
        [property: JsonPropertyName("path_on_host")] string PathOnHost,
        [property: JsonPropertyName("is_root_device")] bool IsRootDevice,
        [property: JsonPropertyName("is_read_only")] bool IsReadOnly);

    public sealed record NetworkInterface(
        [property: JsonPropertyName("iface_id")] string IfaceId,
        [property: JsonPropertyName("guest_mac")] string GuestMac,
        [property: JsonPropertyName("host_dev_name")] string HostDevName);

    /// <summary>The configuration of <paramref name="launch"/> (a firecracker-target launch) on Firecracker itself, under KVM.</summary>
    public static FirecrackerConfig For(MicroVmLaunch launch) => new(
        new BootSource(launch.Kernel, launch.Initrd, launch.CommandLine(forFirecracker: true)),
        new MachineConfig(launch.Cpus, launch.MemoryMib),
        // Firecracker attaches drives in this order, so the guest sees them as vda, vdb, … as on QEMU.
        [.. launch.Disks.Select(d => new Drive(d.Name, d.Path, IsRootDevice: false, d.ReadOnly))],
        launch.Tap is null ? [] : [new NetworkInterface("eth0", launch.GuestMac, launch.Tap)]);

    public string ToJson() => JsonSerializer.Serialize(this, FirecrackerConfigJson.Default.FirecrackerConfig) + "\n";
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(FirecrackerConfig))]
internal sealed partial class FirecrackerConfigJson : JsonSerializerContext;
