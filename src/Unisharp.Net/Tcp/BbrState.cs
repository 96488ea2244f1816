namespace Unisharp.Net.Tcp;

/// <summary>BBR's states (see <see cref="BbrModel"/>).</summary>
internal enum BbrState
{
    Startup,
    Drain,
    ProbeBw,
    ProbeRtt,
}
