namespace Unisharp.Net.Wire;

/// <summary>What walking an IPv6 extension header chain found wrong (<see cref="Ipv6HeaderChain.TryWalk"/>).</summary>
internal enum Ipv6ChainError
{
    None,
    /// <summary>A header runs past the packet.</summary>
    Truncated,
    /// <summary>An unknown option whose high bits say "discard silently" (01), or no next header: drop, say nothing.</summary>
    Discard,
    /// <summary>Drop, and answer with an ICMPv6 parameter problem (the code and pointer are in the out values).</summary>
    ParameterProblem,
}
