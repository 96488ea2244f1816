// Compiled into every app built for a microVM target, qemu or firecracker (see build/Unisharp.App.targets):
// links the guest runtime, which makes the app init of its VM, and our stack, which runs over the guest's
// raw network card, before Main runs. The build defines UNISHARP_TARGET_FIRECRACKER for firecracker.
namespace Unisharp.Generated;

internal static class MicroVmBootstrap
{
#pragma warning disable CA2255 // A module initializer is exactly what registers the target before the app's Main.
    [System.Runtime.CompilerServices.ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
#if UNISHARP_TARGET_FIRECRACKER
        Unisharp.Hosting.Unikernel.UseTarget(new Unisharp.Targets.MicroVm.MicroVmTarget("firecracker"));
#else
        Unisharp.Hosting.Unikernel.UseTarget(new Unisharp.Targets.MicroVm.MicroVmTarget("qemu"));
#endif
        Unisharp.Hosting.Unikernel.UseStack(Unisharp.Net.DirectStack.Start);
    }
}
