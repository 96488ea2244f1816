using System.Security.Cryptography;
using System.Text;

namespace Unisharp.Cli.MicroVm;

/// <summary>
/// A file of this machine put into a microVM image: <c>--file GUEST_PATH=HOST_PATH</c>, for what the app reads at
/// run time and the guest has no other way to get (its kernel mounts no file system but the initramfs), such as a
/// TLS certificate and key that a boot argument names: <c>--file /etc/tls/server.pem=server.pem -- --cert=/etc/tls/server.pem</c>.
/// </summary>
internal sealed record ImageFile(string GuestPath, string HostPath)
{
    public const string Syntax = "GUEST_PATH=HOST_PATH";

    /// <summary>Parses <c>GUEST_PATH=HOST_PATH</c>; HOST_PATH is made absolute and must be a file.</summary>
    public static ImageFile Parse(string option)
    {
        int eq = option.IndexOf('=');
        if (eq <= 0 || eq == option.Length - 1)
        {
            throw new CliException($"invalid --file '{option}': expected {Syntax}, e.g. --file /etc/tls/server.pem=server.pem", CliException.Usage);
        }
        string guest = option[..eq];
        string host = Path.GetFullPath(option[(eq + 1)..]);
        if (!guest.StartsWith('/') || guest.EndsWith('/') || guest.Split('/').Any(part => part is "." or ".."))
        {
            throw new CliException($"invalid --file '{option}': the path in the guest must be absolute, e.g. /etc/tls/server.pem", CliException.Usage);
        }
        string top = guest.Split('/', StringSplitOptions.RemoveEmptyEntries)[0];
        if (guest == "/init" || top is "dev" or "proc" or "sys")
        {
            throw new CliException($"invalid --file '{option}': {guest} is the app itself or under a file system the guest mounts over it", CliException.Usage);
        }
        if (!File.Exists(host))
        {
            throw new CliException($"invalid --file '{option}': {host} {(Directory.Exists(host) ? "is a directory, not a file" : "does not exist")}", CliException.Usage);
        }
        return new ImageFile(guest, host);
    }

    /// <summary>Parses every option; a guest path given twice is an error.</summary>
    public static IReadOnlyList<ImageFile> ParseAll(IEnumerable<string> options)
    {
        var files = options.Select(Parse).ToList();
        if (files.GroupBy(f => f.GuestPath, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new CliException($"--file: {twice.Key} is given twice", CliException.Usage);
        }
        return files;
    }

    /// <summary>A digest of the files' guest paths and contents: the image is repacked when it changes.</summary>
    public static string Stamp(IEnumerable<ImageFile> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(file.GuestPath + "\n"));
            hash.AppendData(SHA256.HashData(File.ReadAllBytes(file.HostPath)));
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    public override string ToString() => $"{GuestPath}={HostPath}";
}
