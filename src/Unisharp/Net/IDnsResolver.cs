namespace Unisharp.Net;

/// <summary>Finds the IPv4 addresses of a host name: a stub resolver asking the configured DNS server, or the host's resolver.</summary>
public interface IDnsResolver
{
    /// <summary>
    /// The IPv4 addresses of <paramref name="name"/>, following CNAMEs; a dotted-quad literal is its own answer.
    /// Answers are cached for as long as their TTL allows.
    /// </summary>
    /// <exception cref="NetworkException">
    /// <see cref="NetworkError.NameNotFound"/> when the name does not exist (NXDOMAIN) or has no IPv4 address;
    /// <see cref="NetworkError.TimedOut"/> when the server did not answer; <see cref="NetworkError.NameResolutionFailed"/>
    /// when it failed or refused, or no server is configured.
    /// </exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid host name.</exception>
    ValueTask<IReadOnlyList<Ipv4Address>> ResolveAsync(string name, CancellationToken cancellationToken = default);
}
