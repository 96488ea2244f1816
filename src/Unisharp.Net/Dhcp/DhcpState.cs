namespace Unisharp.Net.Dhcp;

/// <summary>The client states of RFC 2131 §4.4 (INIT-REBOOT and REBOOTING are not used: we keep no lease across boots).</summary>
internal enum DhcpState
{
    Init,
    Selecting,
    Requesting,
    Bound,
    Renewing,
    Rebinding,
}
