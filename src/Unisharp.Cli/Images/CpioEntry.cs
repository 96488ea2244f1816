namespace Unisharp.Cli.Images;

/// <summary>One entry of a newc cpio archive, as <see cref="CpioReader"/> reads it.</summary>
/// <param name="Name">The path inside the archive, without a leading slash.</param>
/// <param name="Mode">The st_mode: file type bits and permissions.</param>
/// <param name="Data">The file's contents, or a symlink's target; empty for directories and devices.</param>
public sealed record CpioEntry(string Name, int Mode, int Inode, int LinkCount, uint ModificationTime, int RdevMajor, int RdevMinor, byte[] Data)
{
    public bool IsDirectory => (Mode & CpioWriter.TypeMask) == CpioWriter.TypeDirectory;
    public bool IsRegularFile => (Mode & CpioWriter.TypeMask) == CpioWriter.TypeRegular;
    public bool IsSymlink => (Mode & CpioWriter.TypeMask) == CpioWriter.TypeSymlink;
    public bool IsCharacterDevice => (Mode & CpioWriter.TypeMask) == CpioWriter.TypeCharacterDevice;
    public bool IsBlockDevice => (Mode & CpioWriter.TypeMask) == CpioWriter.TypeBlockDevice;

    /// <summary>The permission bits (the low 12 bits of <see cref="Mode"/>).</summary>
    public int Permissions => Mode & 0xFFF;
}
