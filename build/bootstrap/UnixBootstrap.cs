// Compiled into every app built for the unix target (see build/Unisharp.App.targets): links the target's
// devices, and our stack for TAP networking, before Main runs. Mirage's generated main.ml, in one file.
namespace Unisharp.Generated;

internal static class UnixBootstrap
{
#pragma warning disable CA2255 // A module initializer is exactly what registers the target before the app's Main.
    [System.Runtime.CompilerServices.ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        Unisharp.Hosting.Unikernel.UseTarget(new Unisharp.Targets.Unix.UnixTarget());
        Unisharp.Hosting.Unikernel.UseStack(Unisharp.Net.DirectStack.Start);
    }
}
