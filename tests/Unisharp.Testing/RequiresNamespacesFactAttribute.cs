namespace Unisharp.Testing;

/// <summary>A test that needs network namespaces; skipped, with the reason shown, where they cannot be made.</summary>
public sealed class RequiresNamespacesFactAttribute : Xunit.FactAttribute
{
    public RequiresNamespacesFactAttribute()
    {
        if (NetworkNamespace.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
    }
}
