using System.Security.Cryptography;
using System.Text;

namespace Unisharp.Cli.Building;

/// <summary>
/// A fingerprint of everything a build reads (the app's files and Unisharp's sources: names, sizes, times)
/// so <c>unisharp run</c> rebuilds only when something changed.
/// </summary>
internal static class BuildStamp
{
    private static readonly string[] s_skipped = ["bin", "obj", "dist", ".git", ".unisharp", "TestResults"];

    public static string Compute(string target, params string[] roots)
    {
        var text = new StringBuilder(target).Append('\n');
        foreach (string root in roots)
        {
            foreach (var file in Walk(new DirectoryInfo(root)).OrderBy(f => f.FullName, StringComparer.Ordinal))
            {
                text.Append(file.FullName).Append('|').Append(file.Length).Append('|').Append(file.LastWriteTimeUtc.Ticks).Append('\n');
            }
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static IEnumerable<FileInfo> Walk(DirectoryInfo dir)
    {
        if (!dir.Exists)
        {
            yield break;
        }
        foreach (var file in dir.EnumerateFiles())
        {
            if (file.Name != Apps.AppConfiguration.FileName)
            {
                yield return file;
            }
        }
        foreach (var sub in dir.EnumerateDirectories())
        {
            if (!s_skipped.Contains(sub.Name))
            {
                foreach (var file in Walk(sub))
                {
                    yield return file;
                }
            }
        }
    }
}
