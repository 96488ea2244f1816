namespace Unisharp.Cli.Images;

/// <summary>How an initramfs image is compressed; the kernel recognises each by its magic number.</summary>
public enum InitramfsFormat
{
    /// <summary>gzip (CONFIG_RD_GZIP): the smallest, and the slowest to unpack under TCG.</summary>
    Gzip,

    /// <summary>LZ4's legacy frame (CONFIG_RD_LZ4): about 10 % bigger than gzip, unpacked in well under half the time.</summary>
    Lz4,
}
