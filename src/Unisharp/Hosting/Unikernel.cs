using Unisharp.Net;

namespace Unisharp.Hosting;

/// <summary>
/// The entry point of every app: <c>return Unikernel.CreateBuilder(args).UseStack().Run(async ctx => ...)</c>.
/// The build registers the target (and our stack, where the target needs one) before <c>Main</c> runs.
/// </summary>
public static class Unikernel
{
    private static UnikernelTarget? s_target;
    private static Func<StackOptions, IStack>? s_stackFactory;

    /// <summary>The target linked into this image, or null when none was (a build outside <c>unisharp build</c>).</summary>
    public static UnikernelTarget? Target => s_target;

    internal static Func<StackOptions, IStack>? StackFactory => s_stackFactory;

    /// <summary>Registers the target; called by the bootstrap code the build adds to the app.</summary>
    public static void UseTarget(UnikernelTarget target) => s_target = target;

    /// <summary>Registers the factory of our own stack, used when the target gives a raw network device.</summary>
    public static void UseStack(Func<StackOptions, IStack> factory) => s_stackFactory = factory;

    /// <summary>Starts describing an app: its boot arguments and the devices it needs.</summary>
    /// <param name="args">The process's command line: device options, then boot arguments.</param>
    /// <param name="name">The app's name for help and logs; the executable's name by default.</param>
    public static UnikernelBuilder CreateBuilder(string[] args, string? name = null) =>
        new(args, name ?? Path.GetFileNameWithoutExtension(Environment.ProcessPath ?? "unikernel"), s_target);
}
