namespace Unisharp.Net.Tests.Interop;

/// <summary>A fact that needs a real Linux peer: skipped unless the tests run as root on Linux with <c>ip</c>.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute(string? tool = null)
    {
        if (!NetworkNamespace.IsSupported)
        {
            Skip = "needs Linux, root and the ip tool to make a network namespace";
        }
        else if (tool is not null && !new[] { "/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/" }.Any(d => File.Exists(d + tool)))
        {
            Skip = $"needs {tool}";
        }
    }
}
