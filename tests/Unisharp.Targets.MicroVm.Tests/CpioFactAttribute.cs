namespace Unisharp.Targets.MicroVm.Tests;

/// <summary>A test that checks our archives with GNU cpio (Debian package cpio); skipped without it.</summary>
public sealed class CpioFactAttribute : FactAttribute
{
    public CpioFactAttribute()
    {
        if (RepositoryPaths.FindTool("cpio") is null)
        {
            Skip = "needs the cpio tool (apt-get install cpio)";
        }
    }
}
