namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>
/// examples/block-copy for the qemu target in an initramfs, built once for the in-guest block tests
/// (UNISHARP_MICROVM_BLOCK_COPY may name an already published executable to skip the publish).
/// </summary>
public sealed class BlockCopyImageFixture
{
    private readonly Lazy<string> _initrd = new(() => ExampleImage.Build("block-copy", "UNISHARP_MICROVM_BLOCK_COPY"));

    /// <summary>The initramfs image (gzip), built on first use.</summary>
    public string Initrd => _initrd.Value;
}
